import os
from safe import util
