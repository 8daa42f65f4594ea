"""Data, not code: the plan templates (*.<lang>.yaml) and the bot's texts
(messages/*.<lang>.yaml). A package only so that `pip install` ships them; dialogs.template
finds this folder next to dialogs/ both in a checkout and in site-packages."""
