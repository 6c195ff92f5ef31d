"""Names vulture cannot see used: called by a framework, a library, the settings, or only by
tests and benchmarks (which vulture does not scan). ``make deadcode`` reads this file;
anything else vulture reports is dead and goes."""

# ruff: noqa: B018
from types import SimpleNamespace as _lib

from denoise.audiofile import read_audio
from denoise.backends.identity import IdentityModel
from denoise.backends.native import NativeModel
from denoise.backends.onnx.backend import OnnxLoadedModel
from denoise.backends.onnx.model import clear_cache
from denoise.backends.onnx.offline import enhance_offline
from denoise.base import Denoiser
from denoise.batching import BatchScheduler, BatchStats
from fc25_denoise import adminaccess, asgi, csp, env, errorfilter, runtime, s3config
from fc25_denoise.apps import Fc25DenoiseConfig
from fc25_denoise.bodyspool import SpooledBodyHandler
from fc25_denoise.errors import JsonApiErrors
from fc25_denoise.management.commands import runserver as _runserver
from fc25_denoise.metrics import LiveCollector
from frontend.apps import FrontendConfig
from recordings import uploads as _uploads
from recordings.admin import RecordingJobAdmin, RecordingJobInline, StreamRecordingAdmin
from recordings.apps import RecordingsConfig
from recordings.models import RecordingJob
from recordings.runner import JobRunner
from recordings.s3range import S3RangeFile
from streams.apps import StreamsConfig
from streams.models import ActiveStream
from streams.webrtc.candidates import Trusted
from streams.webrtc.decode import BatchedDecoderQueue
from users import admin as users_admin
from users import models as _user_models
from users import throttle
from users.apps import UsersConfig
from users.consumers import PresenceConsumer
from users.models import FriendRequest, PresenceConnection
from users.sessionstore import SessionStore
from users.wsauth import LaneAuthMiddleware

# Loaded by name from the registry (denoise/loading.py KINDS).
IdentityModel, NativeModel, OnnxLoadedModel
# Django: app configs, the ASGI entry point, settings helpers (settings.py is not scanned).
RecordingsConfig, StreamsConfig, UsersConfig, FrontendConfig, asgi.application
Fc25DenoiseConfig
# prometheus_client calls a collector's describe().
LiveCollector.describe
env.env_str, env.env_bool, env.env_int, env.env_float, env.env_list, env.env_choice
env.secret_key, env.database_from_url, env.env_public_url, env.env_ip, s3config.s3_storage
env.allowed_hosts, env.env_networks
# Named in settings: middleware, exception reporter filter, authentication backend.
(
    csp.ContentSecurityPolicyMiddleware,
    adminaccess.AdminNetworks,
    errorfilter.ConnectionStringFilter,
    throttle.ThrottledModelBackend,
)
# Read by Django: the filter's hidden-name pattern, the admin site's login form.
errorfilter.ConnectionStringFilter.hidden_settings, users_admin.admin.site.login_form
# Middleware named in settings.MIDDLEWARE; Django calls its hooks.
JsonApiErrors, JsonApiErrors.process_request, JsonApiErrors.process_exception
JsonApiErrors.process_response
# Channels calls the consumer's handlers.
PresenceConsumer.connect, PresenceConsumer.disconnect, PresenceConsumer.receive_json
PresenceConsumer.presence_event, PresenceConsumer.receive, PresenceConsumer.presence_session_ended
PresenceConsumer.dispatch, PresenceConsumer.websocket_disconnect
# Django's ASGI handler and Channels' auth middleware call these hooks; the lazy user object
# reads _wrapped.
SpooledBodyHandler.read_body, LaneAuthMiddleware.resolve_scope
_lib._wrapped
StreamsConfig.ready, UsersConfig.ready, RecordingsConfig.ready
# Model fields read by the database, the admin or other processes.
RecordingJob.updated_at, ActiveStream.heartbeat, FriendRequest.responded_at
PresenceConnection.connected_at
# io.RawIOBase methods that the io machinery calls.
S3RangeFile.readable, S3RangeFile.seekable, S3RangeFile.tell, S3RangeFile.readinto
# Attributes set for libraries to read (ONNX Runtime session options, PyAV codec).
_lib.intra_op_num_threads, _lib.inter_op_num_threads, _lib.execution_mode
_lib.graph_optimization_level, _lib.log_severity_level, _lib.bit_rate
# Public engine and runtime API used by tests and benchmarks.
read_audio, clear_cache, enhance_offline, Denoiser.process_async, Denoiser.nonfinite_samples
BatchScheduler.active_streams
BatchStats.batches, JobRunner.wait_idle, runtime.replace_live_hub, Trusted.relays
# Django reads the management command's class attributes.
_runserver.Command.requires_system_checks
# aiortc's receiver calls its decoder queue's put() (streams/webrtc/decode.py).
BatchedDecoderQueue.put
# Django calls an upload handler named in FILE_UPLOAD_HANDLERS, and the auth backend
# calls the manager's get_by_natural_key.
_uploads.ScratchUploadHandler
_user_models.AccountManager.get_by_natural_key
# Django's admin calls these permission and delete hooks.
RecordingJobInline.has_add_permission, RecordingJobAdmin.has_add_permission
RecordingJobAdmin.has_change_permission, RecordingJobAdmin.delete_model
RecordingJobAdmin.delete_queryset, StreamRecordingAdmin.has_add_permission
SessionStore.clear_expired  # Django's clearsessions calls it
SessionStore._validate_session_key  # Django's SessionBase calls it
