import os
import re
import typing
import shutil
