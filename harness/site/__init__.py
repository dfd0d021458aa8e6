"""The published compatibility report: a static site built from runs (`zarr-conformance publish`).

model.py loads and judges runs, diff.py compares two, views.py computes what each page shows,
data.py writes the data files (docs/site-data.md), build.py puts it together with the Jinja2
templates in templates/ and the scripts and styles in assets/.
"""
