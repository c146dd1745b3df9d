"""`bookmaker catalogue`: every title of a publisher's catalogue built and checked, each title one
task on Dask distributed (a LocalCluster of worker processes, or an existing cluster).

- titles.py: which folders are titles (catalogue.toml or every subfolder with a book.toml), and
  each title's key (its sources, the built-in layouts, the fonts, bookmaker's code and libraries);
- task.py: one title's build and check, run on a worker, as a picklable result;
- run.py: the cluster, the tasks with their retries, the live progress, skipping what is unchanged;
- report.py: the terminal table, catalogue.json and catalogue.html.

It sits above the pipeline and the checks, and nothing imports it but the CLI.
"""
