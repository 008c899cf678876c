"""Area risk (区域风险): the documented rule that colours an area, live signals from alarms and
overdue hidden dangers, and the four-colour map (四色图) with its explanations."""
