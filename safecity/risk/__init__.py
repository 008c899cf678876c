"""Risk grading (风险分级管控): one room per subject — points (risk points, LEC and matrix
assessment), major_hazards (GB 18218 hazardous-chemical units and exposure), areas (the area rule,
live signals and the four-colour map), lists (the four lists) and whitepaper (the yearly white
paper). The tables are shared in models.py; plugin.py joins the rooms to SafeCity."""
