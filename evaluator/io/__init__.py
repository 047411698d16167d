"""Files in and out: masks and MetaImage (`masks`, `metaimage`), the HC18 result CSV
(`hc18_csv`), safe archive unpacking (`archives`) into self-cleaning scratch folders
(`scratch`), printable names (`names`) and the `Problem` a validation reports.

May import: `evaluator.geometry` and its own modules; nothing else of the evaluator.
"""
