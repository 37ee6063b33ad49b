"""The clinic's dates and times as staff read them: British dates, and the 24-hour clock the diary, the free-time
finder and every warning already use (Django's en-GB default writes "9 a.m." beside "09:00" elsewhere)."""

from django.conf.locale.en_GB.formats import *  # noqa: F403 - the rest as Django has it for en-GB

TIME_FORMAT = "H:i"  # '14:30'
DATETIME_FORMAT = "j M Y, H:i"  # '25 Oct 2006, 14:30'
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # '25/10/2006 14:30'
# Shown in time boxes (the first) and read from them: hours and minutes, as working hours are kept.
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]
