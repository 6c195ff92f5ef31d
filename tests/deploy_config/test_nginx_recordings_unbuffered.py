"""nginx passes recording responses through unbuffered (deploy/infra/nginx.conf.template).

By default nginx reads an upstream response as fast as the app sends it, into memory and a
temp file of up to 1 GB per response: an open download would then have left the app long
before the app's per-second access re-check could end it (a friendship that ends must end
the download now), and many slow downloads would fill nginx's temp disk. The app also sends
``X-Accel-Buffering: no`` on audio (tests/recordings/test_download_not_proxy_buffered.py);
the config holds for every response under /api/recordings/ whatever the app sends.
"""

from __future__ import annotations

from tests.deploy_config.nginx import block, directives, render


def test_recordings_location_does_not_buffer_responses() -> None:
    recordings = directives(block(render(), "location /api/recordings/ {"))
    assert "proxy_buffering off;" in recordings
    assert "proxy_pass http://fc25_app;" in recordings


def test_imports_still_stream_their_bodies_unbuffered() -> None:
    config = render(FC25_UPLOAD_MAX_MB="50")
    imports = directives(block(config, "location = /api/recordings/import/ {"))
    assert "proxy_request_buffering off;" in imports
    assert "client_max_body_size 51m;" in imports
    assert "proxy_pass http://fc25_app;" in imports
