//! import (placeholder: being implemented).
