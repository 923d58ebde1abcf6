"""The visitors app's pages: the winner's answer, the visitor's own pages, the staff's."""
