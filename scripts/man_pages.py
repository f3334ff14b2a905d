#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes one manual page per C function of libcfutures (man 3 cf_submit), and the overview page cfutures(3),
from the XML that Doxygen makes of include/cfutures/cfutures.h.

    man_pages.py <doxygen xml dir> <output man3 dir> <version> [<dir for gzip-compressed copies>]

The compressed copies (gzip -9n: no name, no time stamp, so that builds are reproducible) are what is installed:
Debian's policy wants manual pages compressed.
"""
import gzip
import os
import re
import sys
import xml.etree.ElementTree as ET


def roff_escape(text):
    text = text.replace("\\", "\\e")
    # A line that starts with . or ' would be read as a request.
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.split("\n"))


def inline(node):
    """The text of an element with its inline markup: code in bold, emphasis in italics."""
    parts = [node.text or ""]
    for child in node:
        if child.tag in ("parameterlist", "simplesect", "itemizedlist", "orderedlist", "programlisting"):
            pass  # block elements are rendered by paragraphs()
        elif child.tag in ("computeroutput", "bold"):
            parts.append("\\fB" + inline(child) + "\\fR")
        elif child.tag == "emphasis":
            parts.append("\\fI" + inline(child) + "\\fR")
        elif child.tag == "linebreak":
            parts.append("\n.br\n")
        else:
            parts.append(inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def clean(text):
    return re.sub(r"[ \t]*\n[ \t]*", " ", text).strip()


def paragraphs(desc):
    """Roff for a description: its paragraphs and lists (parameters and return values are taken out apart)."""
    out = []
    if desc is None:
        return out
    for para in desc.findall("para"):
        text = clean(inline(para))
        if text:
            out.append(".PP\n" + roff_escape(text))
        for lst in para.findall("itemizedlist") + para.findall("orderedlist"):
            for item in lst.findall("listitem"):
                body = " ".join(clean(inline(p)) for p in item.findall("para"))
                out.append('.IP \\(bu 2\n' + roff_escape(body))
        for sect in para.findall("simplesect"):
            if sect.get("kind") in ("note", "warning", "see", "par"):
                body = " ".join(clean(inline(p)) for p in sect.findall("para"))
                label = {"note": "Note:", "warning": "Warning:", "see": "See also:"}.get(sect.get("kind"), "")
                out.append(".PP\n" + roff_escape((label + " " + body).strip()))
    return out


def parameters(desc):
    out = []
    for plist in desc.iter("parameterlist"):
        if plist.get("kind") != "param":
            continue
        for item in plist.findall("parameteritem"):
            names = ", ".join(clean(inline(n)) for n in item.iter("parametername"))
            body = " ".join(clean(inline(p)) for p in item.find("parameterdescription").findall("para"))
            out.append(".TP\n.I %s\n%s" % (roff_escape(names), roff_escape(body)))
    return out


def returns(desc):
    out = []
    for sect in desc.iter("simplesect"):
        if sect.get("kind") == "return":
            out.append(".PP\n" + roff_escape(" ".join(clean(inline(p)) for p in sect.findall("para"))))
    for plist in desc.iter("parameterlist"):
        if plist.get("kind") == "retval":
            for item in plist.findall("parameteritem"):
                names = ", ".join(clean(inline(n)) for n in item.iter("parametername"))
                body = " ".join(clean(inline(p)) for p in item.find("parameterdescription").findall("para"))
                out.append(".TP\n.B %s\n%s" % (roff_escape(names), roff_escape(body)))
    return out


def header(name, section_title, version):
    return ['.TH %s 3 "" "libcfutures %s" "%s"' % (name.upper(), version, section_title)]


def function_page(member, version, all_names):
    name = member.findtext("name")
    brief = clean(inline(member.find("briefdescription"))) or name
    definition = clean(member.findtext("definition") or "") + clean(member.findtext("argsstring") or "")
    definition = definition.replace("CF_API ", "")
    detailed = member.find("detaileddescription")
    lines = header(name, "libcfutures Manual", version)
    lines += [".SH NAME", "%s \\- %s" % (name, roff_escape(brief.rstrip(".")))]
    lines += [".SH SYNOPSIS", ".nf", ".B #include <cfutures/cfutures.h>", ".PP", ".B " + roff_escape(definition) + ";",
              ".fi", ".PP", "Link with \\fB$(pkg-config --libs cfutures)\\fR."]
    # The brief sentence opens the description: Doxygen takes it out of the detailed text.
    body = ([".PP\n" + roff_escape(brief)] if brief != name else []) + paragraphs(detailed)
    if body:
        lines += [".SH DESCRIPTION"] + body
    params = parameters(detailed)
    if params:
        lines += [".SH PARAMETERS"] + params
    rets = returns(detailed)
    if rets:
        lines += [".SH RETURN VALUE"] + rets
    text = ET.tostring(member, encoding="unicode")
    related = sorted({n for n in re.findall(r"\bcf_[a-z_]+\b", text) if n in all_names and n != name})
    lines += [".SH SEE ALSO", ", ".join("\\fB%s\\fR(3)" % n for n in related + ["cfutures"])]
    return "\n".join(lines) + "\n"


def overview_page(functions, version):
    lines = header("cfutures", "libcfutures Manual", version)
    lines += [".SH NAME", "cfutures \\- Python's concurrent.futures as a C library",
              ".SH SYNOPSIS", ".nf", ".B #include <cfutures/cfutures.h>", ".fi", ".PP",
              "Link with \\fB$(pkg-config --libs cfutures)\\fR, or in CMake \\fBfind_package(cfutures)\\fR and "
              "the target \\fBcfutures::cfutures\\fR.",
              ".SH DESCRIPTION",
              "Futures, thread pools and process pools with the behaviour of Python's concurrent.futures, behind "
              "opaque handles. Functions that can fail return \\fBCF_OK\\fR or a negative \\fBCF_E_\\fR status; "
              "\\fBcf_last_error\\fR(3) tells what went wrong.",
              ".SH FUNCTIONS"]
    for name, brief in functions:
        lines += [".TP", ".BR %s (3)" % name, roff_escape(brief)]
    return "\n".join(lines) + "\n"


def main():
    xml_dir, out_dir, version = sys.argv[1:4]
    gz_dir = sys.argv[4] if len(sys.argv) > 4 else None
    tree = ET.parse(os.path.join(xml_dir, "cfutures_8h.xml"))
    members = [m for m in tree.iter("memberdef") if m.get("kind") == "function"]
    if not members:
        sys.exit("man_pages.py: no functions in %s" % xml_dir)
    os.makedirs(out_dir, exist_ok=True)
    names = {m.findtext("name") for m in members}
    overview = []
    for member in sorted(members, key=lambda m: m.findtext("name")):
        name = member.findtext("name")
        with open(os.path.join(out_dir, name + ".3"), "w") as f:
            f.write(function_page(member, version, names))
        overview.append((name, clean(inline(member.find("briefdescription")))))
    with open(os.path.join(out_dir, "cfutures.3"), "w") as f:
        f.write(overview_page(overview, version))
    if gz_dir:
        os.makedirs(gz_dir, exist_ok=True)
        for page in os.listdir(out_dir):
            with open(os.path.join(out_dir, page), "rb") as f:
                data = f.read()
            with open(os.path.join(gz_dir, page + ".gz"), "wb") as raw:
                with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as z:
                    z.write(data)
    print("man_pages.py: %d pages in %s" % (len(members) + 1, out_dir))


if __name__ == "__main__":
    main()
