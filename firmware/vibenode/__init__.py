# vibenode: the application that runs on a node (sensor -> window -> features -> report -> link).
VERSION = "0.1.0"
