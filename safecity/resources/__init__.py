"""Emergency resources on the road network: road graph, travel-time routing, evacuation."""
