"""finobs has no models. This module exists so Django sends post_migrate to the finobs app (it skips apps
without a models module), which is what re-syncs the roles after every migrate (finobs/apps.py)."""
