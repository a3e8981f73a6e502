import os
import re
import shutil
