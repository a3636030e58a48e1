/*
 * What the tracker and token detectors share about one URL: is it fetched from
 * the network, is it fetched when the message is opened (an image), and can
 * the reader see it. Private to detect/.
 */
#ifndef VIGIL_DETECT_TRACKER_H
#define VIGIL_DETECT_TRACKER_H

#include <stdbool.h>

#include "message.h"

/* Findings of one id the tracker and token detectors record per message.
 * One hidden image proves the point; hundreds of them must not fill the
 * message's findings (VIGIL_MAX_FINDINGS) before the detectors that run
 * later (impersonation, auth) record the deception that makes it recon. */
#define DETECT_MAX_PER_ID 16

/* http or https: something a mail client fetches from a server, unlike cid:
 * (an inline part) or data: (the bytes are in the message). */
bool tracker__is_remote(const vigil_url *u);

/* A URL in HTML that a mail client loads by itself when the message is shown:
 * img/source/input type=image sources, SVG images, VML images (v:fill,
 * v:image, v:imagedata src), video posters, background attributes and CSS
 * url() (inline styles and style sheets). */
bool tracker__is_image(const vigil_url *u);

/* Anything a mail client may load by itself when the message is shown: the
 * images above, and style sheets and icons (link href), frames, embeds,
 * objects, scripts and media (most clients block the latter; some do not). */
bool tracker__is_fetched(const vigil_url *u);

/* A fetched URL that fills a box on the page, so hiding it or shrinking it
 * to a pixel is a choice: the images above, frames and iframes, embedded
 * objects (object data, embed src) and video sources. Style sheets,
 * scripts and audio take no room: their size says nothing. */
bool tracker__is_boxed(const vigil_url *u);

/* A link the reader follows by clicking: href of a/area, or a URL in a text
 * body. */
bool tracker__is_link(const vigil_url *u);

/* The reader cannot see it: any VIGIL_HIDDEN_* bit (its own or an
 * ancestor's), or a declared size of at most 2 px in each declared dimension
 * (see tracker.c for spacers). */
bool tracker__is_invisible(const vigil_url *u);

#endif /* VIGIL_DETECT_TRACKER_H */
