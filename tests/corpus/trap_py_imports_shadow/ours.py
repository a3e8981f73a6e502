import os
from fast import util
