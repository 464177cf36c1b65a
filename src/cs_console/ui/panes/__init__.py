"""The workspace's three panes: the queue, the conversation, the customer."""
