import os
import json
import sys
