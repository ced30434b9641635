"""Benchmark: compile a ~30 KB newsletter once, then personalise it for many recipients on one core.

    python benchmarks/personalise.py [--recipients 100000]

The newsletter is a generated document (theme-like CSS with @media rules, 20 links, 5 variables in subject, body and
footer) compiled through ``compile_email``. Prints the compile time, recipients/s and µs per recipient, and a reference
measured in the same run: the same loop doing only ``str.join`` of the compiled parts with fixed values, and the ratio.
Target: ≥ 20,000 recipients/s. No database: the variable registry is the standard one plus one custom field.
"""

import argparse
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "example_site")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

FIRST = ["Anne", "Bruno", "Chloé", "D'Arcy", "Émilie", "<Zoë>", 'Jean "JJ"', "Tom & Jerry", "", "Ann\r\nBcc: x@evil"]
LAST = ["Martin", "O'Neil", "Dubois", "", "Smith & Sons", "Ló<b>pez</b>", "Richard", "Petit"]
CITIES = ["Paris", "Lyon", "Genève", "", "Zürich & Co", "<script>x</script>"]

CSS = """
body { margin: 0; padding: 0; background: #f4f4f4; font-family: Helvetica, Arial, sans-serif; }
.wrapper { width: 100%; background: #f4f4f4; } .container { width: 600px; background: #ffffff; }
h1 { font-size: 28px; color: #111111; margin: 0 0 12px; } h2 { font-size: 20px; color: #222222; }
p { font-size: 16px; line-height: 24px; color: #333333; margin: 0 0 16px; }
.button { background: #0b5fff; color: #ffffff; padding: 12px 20px; border-radius: 4px; text-decoration: none; }
.footer p { font-size: 12px; color: #777777; }
@media (max-width: 600px) { .container { width: 100% !important; } h1 { font-size: 24px !important; } }
@media (prefers-color-scheme: dark) {
  body, .wrapper { background: #111111 !important; } p { color: #eeeeee !important; }
}
"""


def article(n):
    paragraph = (
        "Spring brings new projects to the neighbourhood: gardens, workshops and a market every Saturday. "
        "Volunteers are welcome, whatever your experience, and the coffee is on us. "
    ) * 6
    # Every other link goes to a partner's site (no UTM) and carries a query string.
    if n % 2:
        link = f'see <a href="https://partner{n}.example.net/event?id={n}&amp;lang=en">the partner\'s page</a>'
    else:
        link = f'read the <a href="/news/article-{n}/?ref=home#top">full story</a>'
    return f"""
<tr><td style="padding: 24px">
  <h2>Article {n}: what happened this month</h2>
  <p>{paragraph}</p>
  <p>To know more, {link}.</p>
</td></tr>"""


def newsletter_document():
    articles = "".join(article(n) for n in range(19))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Spring news</title><style>{CSS}</style></head>
<body><div style="display:none">News for {{{{ first_name|default:"you" }}}}</div>
<table class="wrapper" role="presentation"><tr><td align="center">
<table class="container" role="presentation">
<tr><td style="padding: 24px"><h1>Hello {{{{ first_name|default:&quot;there&quot; }}}},</h1>
<p>Here is the news from {{{{ city|default:"your town" }}}},
 written on {{{{ date }}}} for {{{{ email }}}}.</p></td></tr>
{articles}
<tr><td style="padding: 24px"><a class="button" href="https://example.org/volunteer">Become a volunteer</a></td></tr>
<tr><td class="footer" style="padding: 24px">
  <p>{{{{ full_name|default:"Reader" }}}}, you receive this because you subscribed.</p>
  <p><a href="{{{{ unsubscribe_url }}}}">Unsubscribe</a> · <a href="{{{{ web_version_url }}}}">View in browser</a></p>
</td></tr></table></td></tr></table></body></html>"""


def recipients(count, seed=1):
    rng = random.Random(seed)
    return [
        {
            "email": f"reader{i}@example.org",
            "first_name": rng.choice(FIRST),
            "last_name": rng.choice(LAST),
            "language": "en",
            "data": {"city": rng.choice(CITIES)},
        }
        for i in range(count)
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from wagtail_newsletter.compose.compiled import LinkSlot, compile_email
    from wagtail_newsletter.compose.merge_tags import Variable, standard_variables
    from wagtail_newsletter.compose.personalise import personalise

    variables = {variable.name: variable for variable in standard_variables("en", "https://example.org")}
    variables["city"] = Variable("city", "City", "Custom field", "Paris")
    document = newsletter_document()

    started = time.perf_counter()
    compiled = compile_email(
        document,
        subject='{{ first_name|default:"Hello" }}, the spring news',
        preheader="News from {{ city|default:'your town' }}",
        base_url="https://example.org",
        utm={"source": "newsletter", "medium": "email", "campaign": "spring"},
        language="en",
        variables=variables,
    )
    compile_ms = (time.perf_counter() - started) * 1000
    people = recipients(args.recipients)

    started = time.perf_counter()
    for person in people:
        email = personalise(compiled, person)
    elapsed = time.perf_counter() - started
    assert "&lt;" in personalise(compiled, {"email": "x@example.org", "first_name": "<b>"}).html

    # Reference: the same loop, joining the same parts with fixed values (no lookups, no escaping).
    urls = [link.final_url for link in compiled.links]
    parts = [
        [s if isinstance(s, str) else (urls[s.index] if isinstance(s, LinkSlot) else "x") for s in segments]
        for segments in (compiled.subject, compiled.preheader, compiled.html, compiled.text)
    ]
    join = "".join
    started = time.perf_counter()
    for _person in people:
        reference = (join(parts[0]), join(parts[1]), join(parts[2]), join(parts[3]))
    reference_elapsed = time.perf_counter() - started
    del reference, email

    n = len(people)
    variable_names = [name for name in compiled.variables if name not in ("unsubscribe_url", "web_version_url")]
    print(f"document: {len(document.encode()) / 1024:.1f} KB source, compiled HTML {compiled.html_size / 1024:.1f} KB")
    print(f"links in table: {len(compiled.links)}; variables: {', '.join(compiled.variables)}")
    print(f"  ({len(variable_names)} personal variables, problems: {len(compiled.problems)})")
    print(f"compile once: {compile_ms:.1f} ms")
    print(
        f"personalise: {n} recipients in {elapsed:.2f} s = {n / elapsed:,.0f} recipients/s, "
        f"{elapsed / n * 1e6:.1f} µs each"
    )
    print(
        f"reference (str.join of the same parts): {n / reference_elapsed:,.0f}/s, "
        f"{reference_elapsed / n * 1e6:.1f} µs each; personalise/reference time ratio {elapsed / reference_elapsed:.1f}"
    )
    print("target ≥ 20,000 recipients/s:", "met" if n / elapsed >= 20_000 else "NOT met")


if __name__ == "__main__":
    main()
