import os
import re
import typing
