"""Reports: figures and LaTeX tables made from results/ (above training and evaluation, below the apps)."""
