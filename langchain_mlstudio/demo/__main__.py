"""``python -m langchain_mlstudio.demo``: run the end-to-end demo."""

import sys

from langchain_mlstudio.demo import main

if __name__ == "__main__":
    sys.exit(main())
