"""The challenge report and the statistics plots, built from stored board analyses."""
