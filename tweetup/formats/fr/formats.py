# The same formats in French: « mercredi 13 janvier 2027, 14:30 ».
DATE_FORMAT = "l j F Y"
DATETIME_FORMAT = "l j F Y, H:i"
TIME_FORMAT = "H:i"
# "N", not "M": Django's French three-letter months give "Jul" for juillet
# and "Jui" for juin; the abbreviations French readers know are "juil." and "juin".
SHORT_DATE_FORMAT = "j N Y"
SHORT_DATETIME_FORMAT = "j N Y, H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
