"""The ways customers reach the shop through the reference server: the web chat widget
(``widget_*``) and the mailbox (``email_*``). Each channel turns what comes in into
customer messages through ``state.channels`` and never touches the database itself."""
