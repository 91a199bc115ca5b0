/* Calendar dates written JJ/MM/AAAA. */
#ifndef AIJ_DATE_H
#define AIJ_DATE_H

/* Parses exactly "DD/MM/YYYY" (two, two and four digits) into a day count
 * that orders dates (days since 0001-01-01). Rejects dates that do not exist
 * (31/04, 29/02 outside leap years, year 0000). Returns 0 or -1. */
int date_parse(const char *text, long *days);

#endif
