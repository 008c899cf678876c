"""Major hazard installations (重大危险源): GB 18218-2018 identification and grading of
hazardous-chemical units, and the people exposed within 500 m."""
