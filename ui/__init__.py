"""Byline's web page: a Gradio chat over the index, with cited answers and a sources panel.

``ui.render`` turns answers into HTML without importing Gradio; ``ui.app`` builds the page.
"""
