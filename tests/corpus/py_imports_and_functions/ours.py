import os
import re


def main():
    return os.getcwd()


def words(s):
    return re.findall(r"\w+", s)
