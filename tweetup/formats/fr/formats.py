# The same formats in French: « mercredi 13 janvier 2027, 14:30 ».
DATE_FORMAT = "l j F Y"
DATETIME_FORMAT = "l j F Y, H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
