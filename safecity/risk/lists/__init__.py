"""The four lists (四张清单): major risks, major hidden dangers, major hazard installations and
vulnerable targets."""
