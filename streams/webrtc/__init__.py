"""WebRTC side of live streams: peer connections, the denoising track, the recorder.

Nothing here touches the database; :mod:`streams.hub` ties sessions to the
service layer.
"""
