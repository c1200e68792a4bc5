"""Art. 16 dispatch: an upper-level agency borrows a lower-level agency's technical inspector."""
