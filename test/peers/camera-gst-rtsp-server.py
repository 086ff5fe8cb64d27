"""A real RTSP camera no one here wrote: gst-rtsp-server serving a live H.264 test pattern.

Usage: camera-gst-rtsp-server.py [--udp-only] [user password]
Binds 127.0.0.1 on a free port, prints one JSON line {"port": N, "path": "/cam"} when ready, and
exits when its stdin closes, so it never outlives the test that started it. With a user and a
password, the mount requires RTSP Digest authentication (RFC 2617), as a real camera does. With
--udp-only the mount offers RTP over UDP alone and refuses an interleaved (TCP) SETUP, as many
cameras and relays do.
"""
import json
import os
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

Gst.init(None)

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 "
    "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=800 "
    "! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)

server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service("0")
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(PIPELINE)
factory.set_shared(True)

args = sys.argv[1:]
if args[:1] == ["--udp-only"]:
    factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
    args = args[1:]

if len(args) == 2:
    user, password = args[0], args[1]
    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "viewer")
    auth.add_digest(user, password, token)
    server.set_auth(auth)
    factory.add_role_from_structure(
        Gst.Structure.from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )[0]
    )

server.get_mount_points().add_factory("/cam", factory)
loop = GLib.MainLoop()
if server.attach(None) == 0:
    sys.exit("gst-rtsp-server: attach failed")

sys.stdout.write(json.dumps({"port": server.get_bound_port(), "path": "/cam"}) + "\n")
sys.stdout.flush()


def watch_stdin():
    while os.read(sys.stdin.fileno(), 4096):
        pass
    GLib.idle_add(loop.quit)


threading.Thread(target=watch_stdin, daemon=True).start()
loop.run()
