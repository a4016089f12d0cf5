/*
 * svg: inline SVG charts and HTML escaping for the reports; see svg.h.
 */
#include "svg.h"

#include <stdlib.h>
#include <string.h>

#include "output.h"

#define SVG_WIDTH 680
#define SVG_LABEL_W 270 /* room for the category labels */
#define SVG_VALUE_W 60	/* room for the value after the longest bar */
#define SVG_ROW_H 22
#define SVG_TOP 8
#define SVG_LABEL_MAX 44 /* characters of a label before it is cut */
#define SVG_COLOR "#2b6cb0"
#define SVG_COLOR_A "#a0aec0"
#define SVG_COLOR_B "#2b6cb0"

/* `s` sanitized (valid UTF-8, controls escaped), XML-escaped, cut. */
static void svg_write(FILE *fp, const char *s, size_t max)
{
	char *clean = output_sanitize(s != NULL ? s : "");
	const char *p;
	size_t chars = 0;

	if (clean == NULL)
		return;
	for (p = clean; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80) {
			if (max > 0 && chars == max) {
				fputs("\xe2\x80\xa6", fp); /* ellipsis */
				break;
			}
			chars++;
		}
		switch (*p) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&#39;", fp);
			break;
		default:
			fputc(*p, fp);
		}
	}
	free(clean);
}

void svg_text(FILE *fp, const char *s)
{
	svg_write(fp, s, 0);
}

void svg_text_cut(FILE *fp, const char *s, size_t max)
{
	svg_write(fp, s, max);
}

static void svg_open(FILE *fp, const char *title, int w, int h)
{
	fprintf(fp,
		"<svg class=\"chart\" role=\"img\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" aria-label=\"",
		w, h, w, h);
	svg_text(fp, title);
	fputs("\"><title>", fp);
	svg_text(fp, title);
	fputs("</title>\n", fp);
}

static double svg_max(const struct svg_bar *bars, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (bars[i].value > m)
			m = bars[i].value;
	return m;
}

void svg_hbars(FILE *fp, const char *title, const struct svg_bar *bars,
	       size_t n)
{
	double max = svg_max(bars, n);
	int plot = SVG_WIDTH - SVG_LABEL_W - SVG_VALUE_W;
	int h = SVG_TOP * 2 + (int)n * SVG_ROW_H;
	size_t i;

	svg_open(fp, title, SVG_WIDTH, h);
	fprintf(fp,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#718096\" stroke-width=\"1\" />\n",
		SVG_LABEL_W, SVG_TOP, SVG_LABEL_W, h - SVG_TOP);
	for (i = 0; i < n; i++) {
		int y = SVG_TOP + (int)i * SVG_ROW_H;
		double len = 0;

		if (bars[i].value > 0 && max > 0)
			len = bars[i].value / max * plot;
		fprintf(fp,
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
			"class=\"label\">",
			SVG_LABEL_W - 6, y + 15);
		svg_text_cut(fp, bars[i].label, SVG_LABEL_MAX);
		fputs("</text>\n", fp);
		if (len > 0)
			fprintf(fp,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"%d\" fill=\"%s\" />\n",
				SVG_LABEL_W, y + 3, len, SVG_ROW_H - 6,
				SVG_COLOR);
		fprintf(fp, "<text x=\"%.1f\" y=\"%d\" class=\"value\">",
			SVG_LABEL_W + len + 4, y + 15);
		svg_text(fp, bars[i].shown);
		fputs("</text>\n", fp);
	}
	fputs("</svg>\n", fp);
}

void svg_vbars(FILE *fp, const char *title, const struct svg_bar *bars,
	       size_t n)
{
	const int left = 40, bottom = 40, plot_h = 160;
	int h = SVG_TOP + plot_h + bottom;
	double max = svg_max(bars, n);
	double slot = n > 0 ? (double)(SVG_WIDTH - left - 10) / (double)n : 0;
	size_t i, every = n > 24 ? (n + 11) / 12 : 1;

	svg_open(fp, title, SVG_WIDTH, h);
	fprintf(fp,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"stroke=\"#718096\" stroke-width=\"1\" />\n",
		left, SVG_TOP + plot_h, SVG_WIDTH - 10, SVG_TOP + plot_h);
	for (i = 0; i < n; i++) {
		double x = left + slot * (double)i;
		double bh = 0;

		if (bars[i].value > 0 && max > 0)
			bh = bars[i].value / max * (plot_h - 16);
		if (bh > 0)
			fprintf(fp,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				"height=\"%.1f\" fill=\"%s\" />\n",
				x + slot * 0.15, SVG_TOP + plot_h - bh,
				slot * 0.7, bh, SVG_COLOR);
		if (bars[i].value != 0) {
			fprintf(fp,
				"<text x=\"%.1f\" y=\"%.1f\" "
				"text-anchor=\"middle\" class=\"value\">",
				x + slot / 2, SVG_TOP + plot_h - bh - 3);
			svg_text(fp, bars[i].shown);
			fputs("</text>\n", fp);
		}
		if (i % every == 0) {
			fprintf(fp,
				"<text x=\"%.1f\" y=\"%d\" "
				"text-anchor=\"middle\" class=\"label\">",
				x + slot / 2, SVG_TOP + plot_h + 16);
			svg_text_cut(fp, bars[i].label, 10);
			fputs("</text>\n", fp);
		}
	}
	fputs("</svg>\n", fp);
}

void svg_pairs(FILE *fp, const char *title, const char *name_a,
	       const char *name_b, const struct svg_pair *pairs, size_t n)
{
	int plot = SVG_WIDTH - SVG_LABEL_W - SVG_VALUE_W;
	int legend = 24, group = 2 * (SVG_ROW_H - 6) + 10;
	int h = SVG_TOP * 2 + legend + (int)n * group;
	double max = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (pairs[i].a > max)
			max = pairs[i].a;
		if (pairs[i].b > max)
			max = pairs[i].b;
	}
	svg_open(fp, title, SVG_WIDTH, h);
	fprintf(fp,
		"<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
		"fill=\"%s\" />\n<text x=\"%d\" y=\"%d\" class=\"label\">",
		SVG_LABEL_W, SVG_TOP, SVG_COLOR_A, SVG_LABEL_W + 16,
		SVG_TOP + 11);
	svg_text(fp, name_a);
	fprintf(fp,
		"</text>\n<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
		"fill=\"%s\" />\n<text x=\"%d\" y=\"%d\" class=\"label\">",
		SVG_LABEL_W + 160, SVG_TOP, SVG_COLOR_B, SVG_LABEL_W + 176,
		SVG_TOP + 11);
	svg_text(fp, name_b);
	fputs("</text>\n", fp);
	for (i = 0; i < n; i++) {
		int y = SVG_TOP + legend + (int)i * group;
		double la = 0, lb = 0;

		if (pairs[i].a > 0 && max > 0)
			la = pairs[i].a / max * plot;
		if (pairs[i].b > 0 && max > 0)
			lb = pairs[i].b / max * plot;
		fprintf(fp,
			"<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
			"class=\"label\">",
			SVG_LABEL_W - 6, y + SVG_ROW_H - 3);
		svg_text_cut(fp, pairs[i].label, SVG_LABEL_MAX);
		fputs("</text>\n", fp);
		if (la > 0)
			fprintf(fp,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"%d\" fill=\"%s\" />\n",
				SVG_LABEL_W, y, la, SVG_ROW_H - 6, SVG_COLOR_A);
		fprintf(fp, "<text x=\"%.1f\" y=\"%d\" class=\"value\">",
			SVG_LABEL_W + la + 4, y + 12);
		svg_text(fp, pairs[i].shown_a);
		fputs("</text>\n", fp);
		if (lb > 0)
			fprintf(fp,
				"<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
				"height=\"%d\" fill=\"%s\" />\n",
				SVG_LABEL_W, y + SVG_ROW_H - 6, lb,
				SVG_ROW_H - 6, SVG_COLOR_B);
		fprintf(fp, "<text x=\"%.1f\" y=\"%d\" class=\"value\">",
			SVG_LABEL_W + lb + 4, y + SVG_ROW_H + 6);
		svg_text(fp, pairs[i].shown_b);
		fputs("</text>\n", fp);
	}
	fputs("</svg>\n", fp);
}
