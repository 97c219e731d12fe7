"""Production job kinds. Each module here registers its kind on import (the llms.txt generator is next)."""
