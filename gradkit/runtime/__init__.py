"""Process plumbing below every layer: stop requests from signals (``signals``) and run
files written safely (``files``).  Imports nothing heavy, so the command line can use
it before numpy or Hydra are loaded."""
