MODE = fast
