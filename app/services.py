"""VerificationService: the one object the UI talks to.

It owns the providers and their HTTP clients (one per connection), the session registry and
audit trail, the keyring, and the in-process sandbox; `open_service()` closes them all.
Blocking work (Pillow, keyring, SQLite) runs in worker threads via asyncio.to_thread.
It is past ~600 lines because every call the UI starts passes through it; the
connection rules (rename, URL checks) and the audit-target rule stay beside their one user.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from app import vendors as vendor_registry
from app.capabilities import Capability, ProviderInfo, SupportsConnectionTest, protocols_for
from app.domain import AuditEntry, CheckResult, EncodedImage, LoadedImage, SessionRecord
from app.errors import (
    AppError,
    CapabilityNotSupported,
    ConfigurationError,
    CredentialsMissing,
    ImageError,
    UnexpectedResponse,
)
from app.http import ProviderContext, make_client, require_secure_url
from app.keyring_probe import DeferredSecretStore
from app.paths import AppPaths
from app.sandbox import IN_PROCESS_ORIGIN
from app.settings import SANDBOX, ConnectionProfile, Settings, SettingsStore
from app.store import (
    ChangeSubscription,
    CheckpointSigner,
    Store,
    StoreChange,
    StoreUnavailable,
    open_store,
)
from app.vendors import Vendor
from app.workflows.audit import VerifyResult
from app.workflows.audit import verify as verify_audit
from app.workflows.cases import CaseBook, case_target

if TYPE_CHECKING:
    from app.secrets import SecretStore
    from app.settings import SafetySettings
    from app.unlock import PassphraseUnlocker

log = logging.getLogger("facedesk.services")

P = TypeVar("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    name: str
    is_sandbox: bool
    missing_credentials: tuple[str, ...]
    secrets_persistent: bool | None  # None: the keyring has not been probed yet (Sandbox)

    @property
    def ready(self) -> bool:
        return not self.missing_credentials


class _Sandbox:
    """The in-process sandbox, created on first use."""

    def __init__(self) -> None:
        # Imported here: the emulator is not needed to show the window (~80 ms of imports).
        from app.sandbox.app import create_sandbox_app
        from app.sandbox.state import SandboxState

        self.app, self.state = create_sandbox_app(SandboxState())

    def transport(self) -> httpx.AsyncBaseTransport:
        from app.sandbox.app import SandboxTransport

        return SandboxTransport(self.app)


def _max_input_bytes() -> int:
    # Imaging (Pillow, pi-heif) is imported on first use, in a worker thread, not at start-up.
    from app import imaging

    return imaging.MAX_INPUT_BYTES


def _load_image(data: bytes, name: str, thumbnail: bool = True) -> LoadedImage:
    from app import imaging

    return imaging.load(data, name, thumbnail=thumbnail)


def _prepare_image(image: LoadedImage, rules: Any) -> EncodedImage:
    from app import imaging

    return imaging.prepare(image, rules)


class VerificationService:
    def __init__(
        self,
        *,
        settings_store: SettingsStore,
        secrets: SecretStore,
        store: Store,
        network_transport: Callable[[], httpx.AsyncBaseTransport] | None = None,
        modules: Sequence[Vendor] | None = None,
    ) -> None:
        self._settings_store = settings_store
        self._secrets = secrets
        self.store = store
        self._network_transport = network_transport
        chosen = vendor_registry.VENDORS if modules is None else modules
        self._modules = {m.INFO.id: m for m in chosen}
        self._settings_warning: str | None = None
        try:
            self._settings = settings_store.load()
        except ConfigurationError as exc:
            self._settings = Settings()
            self._settings_warning = exc.user_message
        self._sandbox: _Sandbox | None = None
        # Cases: while a case is active, audited runs name it ("case:REF") and record results.
        self.active_case: str | None = None
        self.audit_check: VerifyResult | None = None  # the start-up verification
        self._sandbox_lock = threading.Lock()
        self._live: dict[tuple[str, str], tuple[object, httpx.AsyncClient]] = {}

    # --- providers and connections -------------------------------------------------------------

    @property
    def providers(self) -> tuple[ProviderInfo, ...]:
        return tuple(m.INFO for m in self._modules.values())

    def info(self, provider_id: str) -> ProviderInfo:
        info: ProviderInfo = self._module(provider_id).INFO
        return info

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def startup_warnings(self) -> tuple[str, ...]:
        warnings = []
        if self._settings_warning:
            warnings.append(self._settings_warning)
        if isinstance(self._secrets, DeferredSecretStore) and not self._secrets.resolved:
            return tuple(warnings)  # the keyring's warning comes from `warm_up()`
        reason = getattr(self._secrets, "reason", "")
        if not self._secrets.persistent and reason:
            warnings.append(reason)
        return tuple(warnings)

    @property
    def secrets_persistent(self) -> bool:
        return self._secrets.persistent

    @property
    def secrets_backend(self) -> str:
        return self._secrets.backend_name

    def connections(self, provider_id: str) -> tuple[str, ...]:
        return (SANDBOX, *(p.name for p in self._settings.profiles_for(provider_id)))

    def active_connection(self, provider_id: str) -> str:
        return self._settings.active_connection(provider_id)

    def is_sandbox(self, provider_id: str) -> bool:
        return self.active_connection(provider_id) == SANDBOX

    def profile(self, provider_id: str, name: str) -> ConnectionProfile | None:
        return self._settings.profile(provider_id, name)

    def connection_fields(self, provider_id: str, name: str | None = None) -> dict[str, str]:
        """The connection's field values, with defaults filled in and sandbox URLs resolved."""
        info = self.info(provider_id)
        name = name or self.active_connection(provider_id)
        if name == SANDBOX:
            values = {f.name: f.default for f in info.connection_fields}
            chosen = self._settings.sandbox.get(provider_id, {})
            values.update(
                {
                    f.name: chosen[f.name]
                    for f in info.connection_fields
                    if f.choices and chosen.get(f.name) in f.choices
                }
            )
            values.update(
                {
                    k: v.replace("{root}", IN_PROCESS_ORIGIN)
                    for k, v in info.sandbox_connection.items()
                }
            )
            return values
        profile = self._settings.profile(provider_id, name)
        values = {f.name: f.default for f in info.connection_fields}
        if profile is not None:
            values.update({k: v for k, v in profile.fields.items() if v})
        return values

    async def set_active_connection(self, provider_id: str, name: str) -> None:
        if name not in self.connections(provider_id):
            raise ConfigurationError(f"There is no connection named {name!r}.")
        self._settings = self._settings.with_active(provider_id, name)
        await asyncio.to_thread(self._settings_store.save, self._settings)

    async def save_profile(self, profile: ConnectionProfile) -> None:
        info = self.info(profile.provider)
        if not profile.name.strip() or profile.name == SANDBOX:
            raise ConfigurationError("Give the connection a name other than “Sandbox”.")
        for field in info.connection_fields:
            value = profile.fields.get(field.name, "")
            if field.is_url and value:
                require_secure_url(value)
            if field.choices and value and value not in field.choices:
                raise ConfigurationError(
                    f"{field.label} must be one of {', '.join(field.choices)}."
                )
        self._settings = self._settings.with_profile(profile)
        await asyncio.to_thread(self._settings_store.save, self._settings)
        await self._drop_live(profile.provider, profile.name)

    async def rename_profile(self, provider_id: str, old_name: str, new_name: str) -> None:
        """Rename a saved connection, moving its keyring entries and registry rows with it.

        Credentials are copied to the new name before the old entries are deleted, so a failure
        half-way leaves them readable under one of the two names (Veriff's shared secret is
        shown only once by Veriff and cannot be typed again).
        """
        new_name = new_name.strip()
        profile = self._settings.profile(provider_id, old_name)
        if profile is None:
            raise ConfigurationError(f"There is no connection named {old_name!r}.")
        if new_name == old_name:
            return
        if not new_name or new_name == SANDBOX:
            raise ConfigurationError("Give the connection a name other than “Sandbox”.")
        if self._settings.profile(provider_id, new_name) is not None:
            raise ConfigurationError(
                f"A connection named “{new_name}” already exists. Choose another name."
            )
        info = self.info(provider_id)
        old_key = self._profile_key(provider_id, old_name)
        new_key = self._profile_key(provider_id, new_name)
        moved: list[str] = []
        for field in info.credential_fields:
            value = await asyncio.to_thread(self._secrets.get, old_key, field.name)
            if value:
                await asyncio.to_thread(self._secrets.set, new_key, field.name, value)
                moved.append(field.name)
        was_active = self._settings.active_connection(provider_id) == old_name
        renamed = ConnectionProfile(provider_id, new_name, dict(profile.fields))
        settings = self._settings.without_profile(provider_id, old_name).with_profile(renamed)
        if was_active:
            settings = settings.with_active(provider_id, new_name)
        self._settings = settings
        await asyncio.to_thread(self._settings_store.save, self._settings)
        await asyncio.to_thread(self.store.rename_profile, provider_id, old_name, new_name)
        for name in moved:
            await asyncio.to_thread(self._secrets.delete, old_key, name)
        await self._drop_live(provider_id, old_name)

    async def set_connection_option(self, provider_id: str, name: str, value: str) -> None:
        """Change a choice field (e.g. Azure's API version) of the active connection."""
        info = self.info(provider_id)
        field = next((f for f in info.connection_fields if f.name == name and f.choices), None)
        if field is None or value not in field.choices:
            raise ConfigurationError(f"{value!r} is not a valid choice for {name}.")
        connection = self.active_connection(provider_id)
        if connection == SANDBOX:
            self._settings = self._settings.with_sandbox_option(provider_id, name, value)
            await asyncio.to_thread(self._settings_store.save, self._settings)
            await self._drop_live(provider_id, SANDBOX)
            return
        profile = self._settings.profile(provider_id, connection)
        assert profile is not None
        await self.save_profile(
            ConnectionProfile(provider_id, connection, {**profile.fields, name: value})
        )

    async def delete_profile(self, provider_id: str, name: str) -> None:
        info = self.info(provider_id)
        profile = self._settings.profile(provider_id, name)
        if profile is None:
            return
        for field in info.credential_fields:
            await asyncio.to_thread(self._secrets.delete, profile.key, field.name)
        self._settings = self._settings.without_profile(provider_id, name)
        await asyncio.to_thread(self._settings_store.save, self._settings)
        await self._drop_live(provider_id, name)

    async def set_theme(self, theme: str) -> None:
        from dataclasses import replace

        self._settings = replace(self._settings, theme=theme)
        await asyncio.to_thread(self._settings_store.save, self._settings)

    # --- operator safety: the lock passphrase and the [safety] settings ------------------------

    def lock_passphrase(self) -> PassphraseUnlocker:
        """The FaceDesk lock passphrase's hash in this service's keyring (blocking calls)."""
        from app.unlock import PassphraseUnlocker

        return PassphraseUnlocker(self._secrets)

    async def set_safety(self, safety: SafetySettings) -> None:
        from dataclasses import replace

        self._settings = replace(self._settings, safety=safety)
        await asyncio.to_thread(self._settings_store.save, self._settings)

    # --- end of operator safety ----------------------------------------------------------------

    # --- credentials ---------------------------------------------------------------------------

    def _profile_key(self, provider_id: str, connection: str) -> str:
        return f"{provider_id}.{connection}"

    async def connection_status(self, provider_id: str) -> ConnectionStatus:
        name = self.active_connection(provider_id)
        info = self.info(provider_id)
        missing: list[str] = []
        if name != SANDBOX:
            key = self._profile_key(provider_id, name)
            groups: dict[str, bool] = {}
            for field in info.credential_fields:
                present = bool(await asyncio.to_thread(self._secrets.get, key, field.name))
                if field.group:
                    groups[field.group] = groups.get(field.group, False) or present
                elif not present:
                    missing.append(field.label)
            missing += [g for g, ok in groups.items() if not ok]
        # The Sandbox needs no credentials: do not wait for (or start) the keyring probe for it.
        deferred = isinstance(self._secrets, DeferredSecretStore) and not self._secrets.resolved
        return ConnectionStatus(
            name=name,
            is_sandbox=name == SANDBOX,
            missing_credentials=tuple(missing),
            secrets_persistent=None if deferred else self._secrets.persistent,
        )

    async def credential_presence(self, provider_id: str, connection: str) -> dict[str, bool]:
        """Which credential fields are set; never the values themselves."""
        key = self._profile_key(provider_id, connection)
        result = {}
        for field in self.info(provider_id).credential_fields:
            result[field.name] = bool(await asyncio.to_thread(self._secrets.get, key, field.name))
        return result

    async def save_credentials(
        self, provider_id: str, connection: str, values: Mapping[str, str]
    ) -> None:
        """Store non-empty values in the keyring; an empty value leaves the stored one alone."""
        if connection == SANDBOX:
            raise ConfigurationError("The Sandbox needs no credentials. Create a profile first.")
        key = self._profile_key(provider_id, connection)
        known = {f.name for f in self.info(provider_id).credential_fields}
        for name, value in values.items():
            if name in known and value:
                await asyncio.to_thread(self._secrets.set, key, name, value)
        await self._drop_live(provider_id, connection)

    async def clear_credential(self, provider_id: str, connection: str, field: str) -> None:
        key = self._profile_key(provider_id, connection)
        await asyncio.to_thread(self._secrets.delete, key, field)
        await self._drop_live(provider_id, connection)

    def _credential_getter(
        self,
        provider_id: str,
        connection: str,
        overrides: Mapping[str, str] | None = None,
        *,
        use_keyring: bool = True,
    ) -> Callable[[str], Awaitable[str]]:
        info = self.info(provider_id)
        labels = {f.name: f.label for f in info.credential_fields}

        async def get(field: str) -> str:
            if overrides and overrides.get(field):
                return overrides[field]
            if not use_keyring:
                value = ""
            elif connection == SANDBOX:
                value = info.sandbox_credentials.get(field, "")
            else:
                key = self._profile_key(provider_id, connection)
                stored: str | None = await asyncio.to_thread(self._secrets.get, key, field)
                value = stored or ""
            if not value:
                raise CredentialsMissing(
                    f"{labels.get(field, field)} is not set for the {info.display_name} "
                    f"connection “{connection}”. Open Credentials to enter it.",
                    provider=info.display_name,
                )
            return value

        return get

    # --- live provider objects -----------------------------------------------------------------

    def _module(self, provider_id: str) -> Vendor:
        try:
            return self._modules[provider_id]
        except KeyError:
            raise CapabilityNotSupported(
                f"No provider called {provider_id!r} is installed."
            ) from None

    def _sandbox_instance(self) -> _Sandbox:
        with self._sandbox_lock:  # warm_up() may be creating it in a thread right now
            if self._sandbox is None:
                self._sandbox = _Sandbox()
            return self._sandbox

    async def warm_up(self) -> tuple[str, ...]:
        """After the first paint: probe the keyring, import imaging, build the sandbox, in threads.

        Returns the keyring warning `startup_warnings` left out, if any.
        """
        warnings: tuple[str, ...] = ()
        if isinstance(self._secrets, DeferredSecretStore):
            store = await asyncio.wrap_future(self._secrets.start())
            reason = str(getattr(store, "reason", ""))
            warnings = (reason,) if not store.persistent and reason else ()
        await asyncio.to_thread(_max_input_bytes)
        await asyncio.to_thread(self._sandbox_instance)
        return warnings

    async def run_startup_checks(self) -> VerifyResult:
        """Load the checkpoint signer, apply case retention and verify the audit trail."""
        store, secrets = self.store, self._secrets
        store.checkpoint_signer = await asyncio.to_thread(_checkpoint_signer, secrets)
        await asyncio.to_thread(_apply_case_retention, store, secrets)
        self.audit_check = await asyncio.to_thread(verify_audit, store, store.checkpoint_signer)
        return self.audit_check

    def _build(
        self,
        provider_id: str,
        connection: str,
        overrides: Mapping[str, str] | None = None,
        field_overrides: Mapping[str, str] | None = None,
        *,
        detached: bool = False,
    ) -> tuple[object, httpx.AsyncClient]:
        # detached: the connection is not a saved profile (e.g. one read from the environment),
        # so its fields start from the vendor's defaults and the keyring is never read.
        module = self._module(provider_id)
        is_sandbox = connection == SANDBOX and not detached
        if detached:
            fields = {f.name: f.default for f in module.INFO.connection_fields}
        else:
            fields = self.connection_fields(provider_id, connection)
        if field_overrides and not is_sandbox:
            fields.update({k: v for k, v in field_overrides.items() if v})
        if is_sandbox:
            client = make_client(
                transport=self._sandbox_instance().transport(), allow_plain_http=True
            )
        else:
            for field in module.INFO.connection_fields:
                if field.is_url:
                    if not fields.get(field.name):
                        raise ConfigurationError(
                            f"{field.label} is not set for the connection “{connection}”. "
                            "Open Connection settings to enter it."
                        )
                    require_secure_url(fields[field.name])
            transport = self._network_transport() if self._network_transport else None
            client = make_client(transport=transport)
        ctx = ProviderContext(
            info=module.INFO,
            connection=connection,
            profile_key=self._profile_key(provider_id, connection),
            fields=fields,
            http=client,
            credential=self._credential_getter(
                provider_id, connection, overrides, use_keyring=not detached
            ),
            store=self.store,
            is_sandbox=is_sandbox,
        )
        return module.create(ctx), client

    def provider(self, provider_id: str, protocol: type[P]) -> P:
        """The active connection's provider, typed as the capability protocol the caller needs."""
        connection = self.active_connection(provider_id)
        key = (provider_id, connection)
        if key not in self._live:
            self._live[key] = self._build(provider_id, connection)
        instance = self._live[key][0]
        if not isinstance(instance, protocol):
            raise CapabilityNotSupported(
                f"{self.info(provider_id).display_name} does not offer this operation."
            )
        return instance

    def supports(self, provider_id: str, capability: Capability) -> bool:
        info = self.info(provider_id)
        return capability in info.capabilities and bool(protocols_for(info, capability))

    async def test_connection(
        self,
        provider_id: str,
        connection: str,
        overrides: Mapping[str, str] | None = None,
        field_overrides: Mapping[str, str] | None = None,
    ) -> str:
        """Try a connection, with typed-but-unsaved credentials and fields if given."""
        instance, client = self._build(provider_id, connection, overrides, field_overrides)
        try:
            if not isinstance(instance, SupportsConnectionTest):
                raise CapabilityNotSupported("This provider cannot test its connection.")
            return await instance.test_connection()
        finally:
            await client.aclose()

    @contextlib.asynccontextmanager
    async def connected(
        self,
        provider_id: str,
        connection: str,
        *,
        fields: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> AsyncIterator[object]:
        """A provider on a named connection (not necessarily the active one), closed on exit.

        With `fields` or `credentials` the connection is detached from the saved profiles: its
        fields are the vendor's defaults updated by `fields`, its credentials only `credentials`
        (the keyring is not read). Headless commands use this for `--connection ID=env`.
        """
        detached = fields is not None or credentials is not None
        instance, client = self._build(
            provider_id, connection, credentials, fields, detached=detached
        )
        try:
            yield instance
        finally:
            await client.aclose()

    async def _drop_live(self, provider_id: str, connection: str) -> None:
        entry = self._live.pop((provider_id, connection), None)
        if entry is not None:
            await entry[1].aclose()

    # --- images --------------------------------------------------------------------------------

    async def load_image_file(self, path: str | Path, *, thumbnail: bool = True) -> LoadedImage:
        """`thumbnail=False`: no preview PNG (a batch shows none; it is most of the cost)."""
        file = Path(path)
        try:
            size, limit = await asyncio.to_thread(lambda: (file.stat().st_size, _max_input_bytes()))
            if size > limit:
                raise ImageError(
                    f"{file.name} is {size / 1e6:.0f} MB; FaceDesk reads images up to "
                    f"{limit // 1_000_000} MB. Use a smaller export of the photo."
                )
            data = await asyncio.to_thread(file.read_bytes)
        except OSError as exc:
            raise ImageError(
                f"FaceDesk could not read {file.name}: check that the file exists and that you "
                "may open it."
            ) from exc
        return await self.load_image_bytes(data, file.name, thumbnail=thumbnail)

    async def load_image_bytes(
        self, data: bytes, name: str, *, thumbnail: bool = True
    ) -> LoadedImage:
        return await asyncio.to_thread(_load_image, data, name, thumbnail)

    async def prepare_image(self, provider_id: str, image: LoadedImage) -> EncodedImage:
        rules = self.info(provider_id).upload_rules
        return await asyncio.to_thread(_prepare_image, image, rules)

    # --- session registry and audit trail ------------------------------------------------------

    def _scope(self, provider_id: str) -> tuple[str, str]:
        return provider_id, self.active_connection(provider_id)

    async def record_session(
        self,
        provider_id: str,
        session_id: str,
        *,
        kind: str,
        status: str,
        label: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> SessionRecord:
        provider, profile = self._scope(provider_id)
        return await asyncio.to_thread(
            lambda: self.store.upsert_session(
                provider=provider,
                profile=profile,
                session_id=session_id,
                kind=kind,
                status=status,
                label=label,
                extra=extra,
            )
        )

    async def sessions(self, provider_id: str, kind: str | None = None) -> list[SessionRecord]:
        provider, profile = self._scope(provider_id)
        return await asyncio.to_thread(self.store.list_sessions, provider, profile, kind=kind)

    async def all_sessions(self) -> list[SessionRecord]:
        """Every session in the registry, all providers and connections, newest first."""
        return await asyncio.to_thread(self.store.all_sessions)

    async def registry_count(self, provider_id: str | None = None, needle: str = "") -> int:
        """How many registry rows match (the filter runs in SQL, in a thread)."""
        return await asyncio.to_thread(
            lambda: self.store.count_sessions(provider=provider_id, needle=needle)
        )

    async def registry_page(
        self, provider_id: str | None, needle: str, offset: int, limit: int
    ) -> list[SessionRecord]:
        """One page of matching registry rows, newest first."""
        return await asyncio.to_thread(
            lambda: self.store.session_page(
                provider=provider_id, needle=needle, offset=offset, limit=limit
            )
        )

    async def set_session_label(self, record: SessionRecord, label: str) -> None:
        """The operator's own label for a session (e.g. a case number); stays on this machine."""
        await asyncio.to_thread(
            self.store.set_label, record.provider, record.profile, record.session_id, label.strip()
        )

    async def forget_registry_entry(self, record: SessionRecord) -> None:
        """Remove a row from the local registry; nothing is sent to the vendor."""
        await asyncio.to_thread(
            self.store.forget_session, record.provider, record.profile, record.session_id
        )

    async def forget_session(self, provider_id: str, session_id: str) -> None:
        provider, profile = self._scope(provider_id)
        await asyncio.to_thread(self.store.forget_session, provider, profile, session_id)

    async def audited(
        self,
        provider_id: str,
        operation: str,
        targets: Sequence[str],
        call: Callable[[], Awaitable[T]],
    ) -> T:
        """Run a consequential operation with its attempt and its outcome in the audit trail.

        Audit entries carry ids and fingerprints only (see `audit_targets`). A create has no
        id yet: what the operator typed for it (Veriff's vendorData may hold personal data) is
        never a target; the entry names the created object's id once the vendor gave one.
        """
        provider, profile = self._scope(provider_id)
        creating = operation.startswith("create")
        stored = [NEW_OBJECT_TARGET] if creating else audit_targets(targets)
        case = self.active_case
        if case is not None and case_target(case) not in stored:
            stored.append(case_target(case))

        def write(outcome: str, request_id: str | None = None) -> Awaitable[int]:
            recorded = list(stored)
            return asyncio.to_thread(
                lambda: self.store.audit(
                    provider=provider,
                    profile=profile,
                    operation=operation,
                    targets=recorded,
                    outcome=outcome,
                    request_id=request_id,
                )
            )

        await write("attempt")
        try:
            result = await call()
        except asyncio.CancelledError:
            await asyncio.shield(write("cancelled"))
            raise
        except AppError as exc:
            code = f" {exc.vendor_code}" if exc.vendor_code else ""
            await write(f"failed: {type(exc).__name__}{code}", exc.request_id)
            raise
        except Exception:
            await write("failed: unexpected error")
            raise
        if creating:
            created = (
                getattr(result, "session_id", None)
                or getattr(result, "id", None)
                or getattr(result, "sid", None)  # GLAIR's session id
            )
            if isinstance(created, str) and created:
                stored[:] = audit_targets([created])
                if case is not None:
                    stored.append(case_target(case))
        outcome = getattr(result, "audit_outcome", None)
        request_id = getattr(result, "request_id", None)
        try:
            entry_id = await write(outcome if isinstance(outcome, str) else "succeeded", request_id)
        except StoreUnavailable:
            # The vendor did it, the trail cannot say so: the result is not shown as done, and
            # the operator is told exactly that (the attempt entry is already in the trail).
            raise StoreUnavailable(
                f"{operation.capitalize()} reached the vendor"
                + (f" (request id {request_id})" if request_id else "")
                + f", but its outcome could not be written to the audit trail: the "
                f"{self.store_description()} cannot be reached. The attempt is recorded; check "
                "the outcome at the vendor before repeating it.",
                provider=provider_id,
                operation=operation,
                request_id=request_id if isinstance(request_id, str) else None,
            ) from None
        if case is not None and isinstance(result, CheckResult):
            await asyncio.to_thread(
                self._record_case_run, case, provider, operation, result, entry_id
            )
        return result

    async def attach_check_to_active_case(
        self, provider_id: str, operation: str, result: CheckResult
    ) -> bool:
        """Attach a shown check result to the active case; False when no case is active.

        Writes an audit entry naming the case (the proof) and its result row (verdict, score,
        threshold).
        """
        case = self.active_case
        if case is None:
            return False
        provider, profile = self._scope(provider_id)
        entry_id = await asyncio.to_thread(
            lambda: self.store.audit(
                provider=provider,
                profile=profile,
                operation=operation,
                targets=[case_target(case)],
                outcome=f"succeeded: {result.verdict.value}",
                request_id=result.request_id,
            )
        )
        await asyncio.to_thread(self._record_case_run, case, provider, operation, result, entry_id)
        return True

    def case_book(self) -> CaseBook:
        """Cases over this service's store and keyring (blocking: call via to_thread)."""
        return CaseBook(self.store, self._secrets)

    # --- team store: where the store is, whether it answers, changes from other workstations ---

    @property
    def store_is_shared(self) -> bool:
        """Whether the store is a team store other workstations write to (PostgreSQL)."""
        return self.store.backend == "postgresql"

    def store_description(self) -> str:
        """Where cases, the registry and the audit trail live, for the window (no password)."""
        where = getattr(self.store, "where", "")
        if self.store_is_shared:
            return f"team store {where}"
        return "this workstation's own store"

    async def check_store(self) -> None:
        """Connect (or reconnect) to the store now; raises StoreError saying what is wrong."""
        await asyncio.to_thread(self.store.ping)

    def watch_store(self, on_change: Callable[[StoreChange], None]) -> ChangeSubscription | None:
        """Call `on_change` (from a worker thread) when another workstation changes the store.

        None for a workstation's own SQLite store, which nobody else writes.
        """
        return self.store.listen(on_change)

    async def set_team_store_url(self, url: str) -> str:
        """Save Settings › Team store (used from the next start); its password to the keyring.

        An empty URL returns to this workstation's own store. Returns the URL as saved, which
        never holds a password: settings.toml is a file, and secrets never reach files.
        """
        from dataclasses import replace

        from app.store import TEAM_STORE_SECRET_SCOPE, StoreError, is_database_url, redact_url
        from app.store.postgres import secret_field, without_password

        url = url.strip()
        if url and not is_database_url(url):
            raise StoreError(
                f"A team store is a postgresql://USER@HOST:PORT/DATABASE URL; {redact_url(url)!r} "
                "is not one. Leave it empty to use this workstation's own store."
            )
        saved, password = without_password(url) if url else ("", None)
        if password:
            await asyncio.to_thread(
                self._secrets.set, TEAM_STORE_SECRET_SCOPE, secret_field(saved), password
            )
        self._settings = replace(self._settings, team_store_url=saved)
        await asyncio.to_thread(self._settings_store.save, self._settings)
        return saved

    def _record_case_run(
        self, case: str, provider: str, operation: str, result: CheckResult, audit_id: int
    ) -> None:
        book = self.case_book()
        if not book.exists(case):
            return
        score = result.score
        book.record_run(
            case,
            vendor=provider,
            operation=operation,
            request_id=result.request_id,
            audit_id=audit_id,
            verdict=result.verdict.value,
            score=score.value if score else None,
            scale=score.scale if score else None,
            threshold=result.details.get("threshold") if result.details else None,
            headline=result.headline,
        )

    async def audit_entries(self, provider_id: str | None = None) -> list[AuditEntry]:
        return await asyncio.to_thread(lambda: self.store.audit_entries(provider=provider_id))

    async def audit_count(
        self, provider_id: str | None = None, text: str | None = None, at_most: int | None = None
    ) -> int:
        """How many audit entries match, up to `at_most` (in SQL, in a thread)."""
        return await asyncio.to_thread(
            lambda: self.store.count_audit(provider=provider_id, text=text, at_most=at_most)
        )

    async def audit_page(
        self, provider_id: str | None, offset: int, limit: int, text: str | None = None
    ) -> list[AuditEntry]:
        """One page of matching audit entries, newest first."""
        return await asyncio.to_thread(
            lambda: self.store.audit_page(
                provider=provider_id, text=text, offset=offset, limit=limit
            )
        )

    # --- sandbox admin (demos: simulate the end user) ------------------------------------------

    async def sandbox_admin(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> Any:
        """Call the in-process sandbox's admin API (`/_sandbox/...`)."""
        client = make_client(transport=self._sandbox_instance().transport(), allow_plain_http=True)
        async with client:
            response = await client.request(
                method, f"{IN_PROCESS_ORIGIN}/_sandbox{path}", json=payload
            )
        if response.status_code >= 400:
            raise UnexpectedResponse(
                f"The sandbox refused the admin request ({response.status_code})."
            )
        return response.json() if response.content else None

    # --- lifecycle -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        live, self._live = self._live, {}
        for _instance, client in live.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        await asyncio.to_thread(self.store.close)


NEW_OBJECT_TARGET = "(new)"
_ID_SHAPED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_FINGERPRINT = re.compile(r"(?:[a-z]+ )?sha256:[0-9a-f]{8,64}")


def audit_targets(targets: Sequence[str]) -> list[str]:
    """Targets as the audit trail may hold them: an id as it is, anything else fingerprinted.

    An id is letters, digits and `._:-` (no spaces, `@` or other text that could be a name,
    an e-mail address or a note); anything else becomes `sha256:<12 hex>`, enough to match an
    entry against a known value without storing the value.
    """
    kept: list[str] = []
    for target in targets:
        text = target.strip()
        if _ID_SHAPED.fullmatch(text) or _FINGERPRINT.fullmatch(text):
            kept.append(text)
        else:
            kept.append("sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12])
    return kept


@contextlib.asynccontextmanager
async def open_service(
    paths: AppPaths,
    *,
    secrets: SecretStore | None = None,
    network_transport: Callable[[], httpx.AsyncBaseTransport] | None = None,
    modules: Sequence[Vendor] | None = None,
    defer_startup_checks: bool = False,
) -> AsyncIterator[VerificationService]:
    """The service for one run of the window or a command; closed on exit.

    The start-up checks (audit signing key, case retention, audit verification) need the
    keyring; the window defers them to `warm_up()` so that the first paint does not wait.
    """
    paths.ensure()
    secret_store: SecretStore = secrets if secrets is not None else DeferredSecretStore()
    # SQLite in the data folder, or the team store named by FACEDESK_DATABASE_URL / Settings ›
    # Team store (which connects on first use, so the window opens while it is away).
    store = await asyncio.to_thread(open_store, paths, secrets=secret_store)
    service = VerificationService(
        settings_store=SettingsStore(paths.settings_file),
        secrets=secret_store,
        store=store,
        network_transport=network_transport,
        modules=modules,
    )
    if not defer_startup_checks:
        await service.run_startup_checks()
    try:
        yield service
    finally:
        await service.aclose()


def _checkpoint_signer(secrets: SecretStore) -> CheckpointSigner | None:
    """The audit checkpoint signer; a keyring failure leaves checkpoints unsigned, not fatal."""
    from app.workflows.audit import signer_from_secrets

    try:
        return signer_from_secrets(secrets, create=True)
    except AppError:
        log.warning("the keyring refused the audit signing key; checkpoints are unsigned")
        return None


def _apply_case_retention(store: Store, secrets: SecretStore) -> None:
    """Erase case photos past the retention period, at start-up, and log what was erased."""
    from app.workflows.cases import CaseBook

    try:
        erased = CaseBook(store, secrets).apply_retention()
    except AppError:
        log.warning("case photo retention could not run: the keyring refused a case key")
        return
    if erased:
        log.info("retention erased the photos of %d closed cases", len(erased))
