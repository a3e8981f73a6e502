import os
import re
import json
import sys
