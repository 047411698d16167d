"""The statistics plots and the challenge report, built from stored data only (issue 12).

The worker stores each board's analysis (``challenges.leaderboards.analyses``); this package
lays it out for people, computing no statistic: the statistics page, the entry and frozen
board pages (``web.views``) and the per-phase challenge report all come from here, so they
agree with each other and with the stored numbers.

What lives where (each module imports only those above it, plus the leaderboards readers and
the models):

- ``svg.py``: a small SVG writer (escapes every text and attribute; colour scales). Pure.
- ``plots.py``: the plots as ``Figure`` (SVG markup, title, one-sentence caption): significance
  map, blob plot, ranking methods and their Kendall's tau, podium heat map, ranks per site,
  rank over time. Pure: plain data in, markup out.
- ``boards.py``: a board's stored analysis made ready to show (``BoardView``: labels "team ·
  method", summary rows, plots, and whether it is current, being updated or not computed);
  an entry's rank history figure.
- ``method.py``: the assessment method written out from a phase's configuration and its
  stored analysis, and the BIAS statement's items.
- ``document.py``: ``build_report(phase)`` and ``render_html(report)`` (one self-contained
  HTML file, template in ``templates/``).
- ``pdf.py``: ``html_to_pdf`` through headless Chromium when the server has it.

Imported by ``web.views``; imports no view, service or task.
"""
