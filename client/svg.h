/*
 * svg: the charts of the HTML reports of `maillage report`, drawn by the
 * program as inline SVG (no script, no external resource, no namespace
 * URL: an HTML5 page embeds <svg> as it is), and the escaping of every
 * string that goes into such a page. This module owns the layout of three
 * chart shapes: horizontal bars (one per category, with its label and
 * value), vertical bars (a time series, e.g. months) and paired horizontal
 * bars (before / after, per institution). A value that must not be shown
 * (a small count suppressed in a publishable report) gets no bar, only its
 * text. Strings from the server are made valid UTF-8 without control
 * characters, then XML-escaped, so the page stays well-formed whatever
 * they hold.
 */
#ifndef MAILLAGE_SVG_H
#define MAILLAGE_SVG_H

#include <stddef.h>
#include <stdio.h>

/* Write `s` (NULL: "") as HTML/XML text or attribute value. */
void svg_text(FILE *fp, const char *s);

/* The same, cut to `max` characters (code points) with an ellipsis. */
void svg_text_cut(FILE *fp, const char *s, size_t max);

struct svg_bar {
	const char *label; /* category (server string) */
	double value;	   /* length of the bar; < 0: no bar */
	const char *shown; /* the value as printed: "12", "<5"... */
};

struct svg_pair {
	const char *label;
	double a, b; /* < 0: no bar */
	const char *shown_a, *shown_b;
};

/* One horizontal bar per category, under `title` (its accessible name). */
void svg_hbars(FILE *fp, const char *title, const struct svg_bar *bars,
	       size_t n);

/* One vertical bar per period, labels under the axis. */
void svg_vbars(FILE *fp, const char *title, const struct svg_bar *bars,
	       size_t n);

/* Two horizontal bars per label, series `name_a` then `name_b`. */
void svg_pairs(FILE *fp, const char *title, const char *name_a,
	       const char *name_b, const struct svg_pair *pairs, size_t n);

#endif
