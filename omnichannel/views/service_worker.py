"""The service worker that shows web push notifications, served by Django.

A service worker controls the pages under the path it is served from, so one served at
``/omnichannel/sw.js`` would only see ``/omnichannel/...`` pages. Two ways to give it the
whole site, pick one:

* register it from its app URL with ``{scope: "/"}``: the response carries
  ``Service-Worker-Allowed: /``, which lets the browser accept the wider scope;
* or serve it from the site root too: ``path("sw.js", service_worker)`` in the shop's
  root URLconf, then register ``/sw.js``.

A shop that already has a worker at its root adds ``importScripts("/omnichannel/sw.js")``
to it instead (only one worker per scope). The script is rendered from the template
``omnichannel/sw.js`` (override it to change how notifications look) and revalidated on
every update check, so a new release reaches browsers at once.
"""

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe


@require_safe
def service_worker(request):
    script = render_to_string(
        "omnichannel/sw.js", {"clicked_url": reverse("omnichannel:push_clicked")}
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response
