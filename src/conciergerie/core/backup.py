"""Backup and restore of a whole instance: one .tar.gz holding the rows, the media and a manifest.

Archive layout (format version 1)::

    data/<app_label>.<model>.jsonl   one file per model, Django's JSON Lines serializer,
                                     rows in primary-key order, files in dependency order
    media/<path>                     every regular file under settings.MEDIA_ROOT
    manifest.json                    written last: format and app versions, creation time
                                     (UTC), database vendor, applied migrations per app,
                                     row counts per model (and per many-to-many table),
                                     the sha256 of every other member

What is saved: every row of every installed model, except the ones below. New domain apps
are therefore included without touching this module; a model pointing at a skipped one
makes the backup fail loudly (see ``backed_up_models``) rather than produce an archive
that cannot be restored.

What is skipped, and why:

- ``contenttypes.ContentType`` and ``auth.Permission``: ``migrate`` recreates them on the
  target, with ids that differ from one database to another. The rows that point at them
  (``User.user_permissions``, ``Group.permissions``, the admin's ``LogEntry``) carry their
  natural keys (``["view_place", "core", "place"]``) instead of ids.
- ``sessions.Session``: logged-in browsers. Bringing them back would revive sessions on
  another machine; people simply log in again.
- ``django_tasks_database.DBTaskResult``: the task queue. Replaying it on the target could
  send e-mails twice; finished results are worthless. Tasks still pending when the backup
  is taken are not carried over: run ``conciergerie worker --once`` before a move.

Portability: only Django's serializers are used (no SQL dump), datetimes keep their
microseconds (Django's JSON encoder would cut them to milliseconds), and primary keys are
kept, so a backup taken on SQLite restores on PostgreSQL and the other way round.

Consistency: every row is read in one transaction that sees one snapshot of the database
(see ``_snapshot``). Media are read after that snapshot: uploads never overwrite an
existing file (Django picks a free name), so every file the saved rows refer to is still
there unless it was deleted meanwhile; such files are listed as missing in the manifest.
The archive is written to a temporary file renamed at the very end: there is never a
half-written archive under the final name.

Restore (into an empty instance only, there is no ``--force``):

1. read the whole archive once and check the manifest, the sha256 of every member and
   that the code knows every migration the archive was taken with, before touching the
   database;
2. refuse if the database already holds rows of any saved model, or if a media file
   would be overwritten by a different one;
3. migrate the database to the archive's migration state;
4. in one transaction, read the archive again (checking the sha256 again), load the rows
   with the models *as they were* at that state (so an older backup loads into newer
   code), check the counts against the manifest, reset the PostgreSQL sequences, put the
   media in place; any failure rolls everything back and removes the media written;
5. run the remaining migrations, so an older backup ends up at the code's schema exactly
   as an upgrade would have left it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import secrets
import tarfile
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.jsonl import Deserializer as JsonlDeserializer
from django.core.serializers.jsonl import Serializer as JsonlSerializer
from django.db import connection, models, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from tqdm import tqdm

import conciergerie

FORMAT = "conciergerie-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SKIPPED = {
    "contenttypes.contenttype": "recréés par migrate ; référencés par clé naturelle",
    "auth.permission": "recréées par migrate ; référencées par clé naturelle",
    "sessions.session": "connexions en cours : chacun se reconnecte",
    "django_tasks_database.dbtaskresult": "file de tâches : la rejouer doublerait les envois",
}
# Rows pointing at these models are written with natural keys: their ids are not portable.
NATURAL_KEY_MODELS = {"contenttypes.contenttype", "auth.permission"}
BATCH_SIZE = 1000
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the person running it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class BackupResult:
    path: Path
    rows: int
    media_files: int
    size: int
    missing_media: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    rows: int
    media_files: int
    app_version: str
    created_at: str
    source_database: str


# --- Which models, in which order --------------------------------------------------------------


def _label(model: Any) -> str:
    return str(model._meta.label_lower)


def _auto_m2m(model: Any) -> list[Any]:
    """Many-to-many fields stored in a table Django made up (saved with their model's rows)."""
    return [f for f in model._meta.many_to_many if f.remote_field.through._meta.auto_created]


def backed_up_models() -> list[type[models.Model]]:
    """Every saved model, each after the models it points to (as far as cycles allow)."""
    chosen = [
        m
        for m in apps.get_models()
        if m._meta.managed and not m._meta.proxy and _label(m) not in SKIPPED
    ]
    labels = {_label(m) for m in chosen}
    deps: dict[str, set[str]] = {}
    for model in chosen:
        targets = {
            _label(f.remote_field.model)
            for f in model._meta.concrete_fields
            if f.is_relation and f.remote_field is not None
        } | {_label(f.remote_field.model) for f in _auto_m2m(model)}
        for target in targets - labels - NATURAL_KEY_MODELS:
            # A developer-facing guard: such an archive could not be restored.
            raise BackupError(
                f"{model._meta.label} pointe vers {target}, qui n'est pas sauvegardé : "
                "ajustez SKIPPED dans conciergerie/core/backup.py."
            )
        deps[_label(model)] = (targets & labels) - {_label(model)}
    ordered: list[type[models.Model]] = []
    done: set[str] = set()
    remaining = list(chosen)
    while remaining:
        ready = [m for m in remaining if deps[_label(m)] <= done] or remaining[:1]
        for model in ready:
            ordered.append(model)
            done.add(_label(model))
            remaining.remove(model)
    return ordered


# --- Serialization ------------------------------------------------------------------------------


class _Encoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts microseconds down to milliseconds; a backup keeps them all."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class _Serializer(JsonlSerializer):
    """JSON Lines with natural keys only towards ContentType and Permission, one write a row."""

    def __init__(self) -> None:
        super().__init__()
        self.files: set[str] = set()

    def _use_natural(self, field: Any) -> None:
        self.use_natural_foreign_keys = _label(field.remote_field.model) in NATURAL_KEY_MODELS

    def handle_field(self, obj: Any, field: Any) -> None:
        super().handle_field(obj, field)
        current: dict[str, Any] = self._current  # type: ignore[assignment]
        if isinstance(field, models.FileField) and current[field.name]:
            self.files.add(current[field.name])

    def handle_fk_field(self, obj: Any, field: Any) -> None:
        self._use_natural(field)
        super().handle_fk_field(obj, field)

    def handle_m2m_field(self, obj: Any, field: Any) -> None:
        self._use_natural(field)
        super().handle_m2m_field(obj, field)

    def end_object(self, obj: Any) -> None:
        self.stream.write(json.dumps(self.get_dump_object(obj), **self.json_kwargs) + "\n")
        self._current = None


class _Deserializer(JsonlDeserializer):
    """Django's JSON Lines deserializer over the models of a given migration state."""

    def __init__(self, stream: Any, *, registry: Any, **options: Any) -> None:
        super().__init__(stream, **options)
        self.registry = registry
        self.natural: dict[tuple[str, tuple[str, ...]], Any] = {}

    def _get_model_from_node(self, model_identifier: str) -> Any:  # type: ignore[override]
        try:
            return self.registry.get_model(model_identifier)
        except (LookupError, TypeError):
            raise DeserializationError(f"Modèle inconnu : {model_identifier}")

    def _natural_pk(self, model: Any, key: list[str]) -> Any:
        # Resolved here, not by the managers' get_by_natural_key: those mix the real
        # ContentType with the historical models the rows are loaded with.
        cache_key = (_label(model), tuple(key))
        if cache_key not in self.natural:
            qs = model._base_manager.using(self.using)  # type: ignore[attr-defined]
            if cache_key[0] == "contenttypes.contenttype" and len(key) == 2:
                qs = qs.filter(app_label=key[0], model=key[1])
            elif cache_key[0] == "auth.permission" and len(key) == 3:
                qs = qs.filter(
                    codename=key[0], content_type__app_label=key[1], content_type__model=key[2]
                )
            else:
                raise DeserializationError(f"Clé naturelle inattendue : {cache_key}")
            pk = qs.values_list("pk", flat=True).first()
            if pk is None:
                raise DeserializationError(f"{cache_key[0]} {key} n'existe pas dans cette instance")
            self.natural[cache_key] = pk
        return self.natural[cache_key]

    def _handle_fk_field_node(self, field: Any, field_value: Any) -> Any:
        if isinstance(field_value, list):
            return self._natural_pk(field.remote_field.model, field_value)
        return super()._handle_fk_field_node(field, field_value)  # type: ignore[misc]

    def _handle_m2m_field_node(self, field: Any, field_value: Any) -> Any:
        model = field.remote_field.model
        if any(isinstance(v, list) for v in field_value):
            return [
                self._natural_pk(model, v) if isinstance(v, list) else model._meta.pk.to_python(v)
                for v in field_value
            ]
        return super()._handle_m2m_field_node(field, field_value)  # type: ignore[misc]


class _HashingWriter:
    """Text in, UTF-8 bytes out to a binary file, counting and hashing them on the way."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def write(self, text: str) -> int:
        data = text.encode()
        self.sha.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(text)

    def flush(self) -> None:
        self.raw.flush()


class _HashingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def drain(self) -> str:
        while self.read(CHUNK):
            pass
        return self.sha.hexdigest()


# --- Backup -------------------------------------------------------------------------------------


@contextmanager
def _snapshot() -> Iterator[None]:
    """One transaction seeing one state of the database, and writing nothing."""
    if connection.in_atomic_block:
        raise BackupError("La sauvegarde doit s'exécuter hors de toute transaction.")
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        # The settings start SQLite transactions IMMEDIATE, which takes the write lock: the
        # live instance's writers would queue behind the whole dump and fail after 20 s.
        # A DEFERRED transaction only reads, and in WAL mode its first read pins one
        # snapshot until it ends: the same consistency, and writers carry on meanwhile.
        previous = getattr(connection, "transaction_mode", None)
        connection.transaction_mode = "DEFERRED"  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                yield
        finally:
            connection.transaction_mode = previous  # type: ignore[attr-defined]
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Must be the transaction's first statement to take effect.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _installed_labels() -> set[str]:
    return {a.label for a in apps.get_app_configs()}


def _migration_state() -> dict[str, list[str]]:
    """Applied migrations per installed app; the schema must match the code exactly."""
    executor = MigrationExecutor(connection)
    loader = executor.loader
    installed = _installed_labels()
    applied = [key for key in loader.applied_migrations if key[0] in installed]
    unknown = sorted(f"{a}.{n}" for a, n in applied if (a, n) not in loader.disk_migrations)
    if unknown:
        raise BackupError(
            "La base a des migrations que cette version ne connaît pas ("
            + ", ".join(unknown)
            + ") : sauvegardez avec la version de Conciergerie qui l'a migrée."
        )
    if executor.migration_plan(loader.graph.leaf_nodes()):
        raise BackupError(
            "La base n'est pas à jour : lancez « conciergerie migrate » avant de sauvegarder."
        )
    state: dict[str, list[str]] = defaultdict(list)
    for app_label, name in sorted(applied):
        state[app_label].append(name)
    return dict(state)


def _default_output() -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path(settings.DATA_DIR) / "backups" / f"conciergerie-backup-{stamp}.tar.gz"


def _tarinfo(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def _dump_model(model: Any, stream: _HashingWriter, tick: Callable[[], None]) -> tuple[int, set]:
    qs = model._base_manager.order_by("pk")
    natural_fks = [
        f.name
        for f in model._meta.concrete_fields
        if f.is_relation and _label(f.remote_field.model) in NATURAL_KEY_MODELS
    ]
    if natural_fks:
        qs = qs.select_related(*natural_fks)
    prefetch = []
    for f in _auto_m2m(model):
        prefetch.append(f.name)
        if _label(f.remote_field.model) == "auth.permission":
            prefetch.append(f"{f.name}__content_type")
    if prefetch:
        qs = qs.prefetch_related(*prefetch)
    rows = 0

    def counted() -> Iterator[Any]:
        nonlocal rows
        # iterator(): rows stream in chunks, memory stays flat however many people there are.
        for obj in qs.iterator(chunk_size=2000):
            rows += 1
            tick()
            yield obj

    serializer = _Serializer()
    serializer.serialize(counted(), stream=stream, cls=_Encoder)  # type: ignore[arg-type]
    return rows, serializer.files


def _media_files(root: Path, skip: set[Path]) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file() and path.resolve() not in skip:
                yield path.relative_to(root).as_posix(), path


def backup_create(*, output: Path | None = None, progress: bool = False) -> BackupResult:
    """Write one consistent archive of the instance; return where and what."""
    target = output or _default_output()
    if target.is_dir():
        target = target / _default_output().name
    if target.exists():
        raise BackupError(f"{target} existe déjà : choisissez un autre nom.")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mkstemp creates the file readable by its owner only: the archive holds password
    # hashes and personal data.
    fd, tmp_name = tempfile.mkstemp(
        dir=target.parent, prefix=".conciergerie-backup-", suffix=".part"
    )
    tmp = Path(tmp_name)
    hashes: dict[str, str] = {}
    counts: dict[str, int] = {}
    data: list[dict[str, str]] = []
    referenced: set[str] = set()
    now = dt.datetime.now(dt.UTC)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(name=target.name, fileobj=raw, mode="w:gz", compresslevel=6) as tar,
        ):
            with _snapshot():
                migrations = _migration_state()
                chosen = backed_up_models()
                totals = {_label(m): m._base_manager.count() for m in chosen}
                with tqdm(
                    total=sum(totals.values()),
                    desc="Sauvegarde",
                    unit=" lignes",
                    disable=not progress,
                    leave=False,
                ) as bar:
                    for model in chosen:
                        label, member = _label(model), f"data/{_label(model)}.jsonl"
                        with _spool(target.parent) as spool:
                            writer = _HashingWriter(spool)
                            rows, files = _dump_model(model, writer, lambda: bar.update(1))
                            spool.flush()
                            spool.seek(0)
                            tar.addfile(_tarinfo(member, writer.size, now.timestamp()), spool)
                        if rows != totals[label]:  # cannot happen inside one snapshot
                            raise BackupError(f"Nombre de lignes instable pour {label}.")
                        hashes[member], counts[label] = writer.sha.hexdigest(), rows
                        data.append({"model": label, "file": member})
                        referenced |= files
                        for f in _auto_m2m(model):
                            through = f.remote_field.through
                            counts[_label(through)] = through._base_manager.count()
            media = list(_media_files(Path(settings.MEDIA_ROOT), {tmp.resolve()}))
            with tqdm(
                total=len(media), desc="Médias", unit=" fichiers", disable=not progress, leave=False
            ) as bar:
                for relative, path in media:
                    member = f"media/{relative}"
                    with path.open("rb") as fh:
                        stat = os.fstat(fh.fileno())
                        reader = _HashingReader(fh)
                        tar.addfile(_tarinfo(member, stat.st_size, stat.st_mtime), reader)
                    hashes[member] = reader.sha.hexdigest()
                    bar.update(1)
            present = {relative for relative, _path in media}
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "app_version": conciergerie.__version__,
                "created_at": now.isoformat(timespec="seconds"),
                "database": connection.vendor,
                "migrations": migrations,
                "data": data,
                "counts": counts,
                "media_files": len(media),
                "missing_media": sorted(referenced - present),
                "skipped": SKIPPED,
                "files": hashes,
            }
            body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            tar.addfile(_tarinfo(MANIFEST, len(body), now.timestamp()), io.BytesIO(body))
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(
        path=target,
        rows=sum(counts[d["model"]] for d in data),
        media_files=len(media),
        size=target.stat().st_size,
        missing_media=manifest["missing_media"],  # type: ignore[arg-type]
    )


@contextmanager
def _spool(directory: Path) -> Iterator[IO[bytes]]:
    """A scratch file next to the archive (not /tmp, which may be small) for one model."""
    with tempfile.TemporaryFile(dir=directory) as fh:
        yield fh


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - not every platform opens directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Restore ------------------------------------------------------------------------------------


def _member_name(member: tarfile.TarInfo) -> str:
    path = PurePosixPath(member.name)
    if (
        not member.isfile()
        or path.is_absolute()
        or ".." in path.parts
        or not (member.name == MANIFEST or path.parts[0] in {"data", "media"})
        or (member.name != MANIFEST and len(path.parts) < 2)
    ):
        raise BackupError(f"Élément inattendu dans l'archive : {member.name!r}.")
    return member.name


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        with tarfile.open(path, "r:gz") as tar:
            yield tar
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"Archive illisible ou abîmée ({path}) : {exc}")


def _scan(path: Path, progress: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """First reading: the manifest and the sha256 of every other member."""
    manifest_bytes: bytes | None = None
    hashes: dict[str, str] = {}
    with (
        _open_archive(path) as tar,
        tqdm(
            desc="Vérification", unit="o", unit_scale=True, disable=not progress, leave=False
        ) as bar,
    ):
        for member in tar:
            name = _member_name(member)
            if name in hashes or (name == MANIFEST and manifest_bytes is not None):
                raise BackupError(f"Élément en double dans l'archive : {name}.")
            fh = tar.extractfile(member)
            assert fh is not None  # regular file, checked above
            if name == MANIFEST:
                manifest_bytes = fh.read()
            else:
                reader = _HashingReader(fh)
                hashes[name] = reader.drain()
            bar.update(member.size)
    if manifest_bytes is None:
        raise BackupError("L'archive n'a pas de manifeste : ce n'est pas une sauvegarde.")
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise BackupError("Le manifeste de l'archive est illisible.")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("Ce fichier n'est pas une sauvegarde de Conciergerie.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Format d'archive {manifest.get('format_version')!r} non pris en charge : "
            f"cette version de Conciergerie lit le format {FORMAT_VERSION}."
        )
    expected = manifest.get("files")
    if not isinstance(expected, dict):
        raise BackupError("Le manifeste de l'archive est incomplet.")
    for name in sorted(set(expected) | set(hashes)):
        if name not in hashes:
            raise BackupError(f"Il manque {name} dans l'archive.")
        if name not in expected:
            raise BackupError(f"{name} est dans l'archive mais pas dans son manifeste.")
        if hashes[name] != expected[name]:
            raise BackupError(
                f"Somme de contrôle incorrecte pour {name} : l'archive a été modifiée ou "
                "abîmée. Rien n'a été restauré."
            )
    for key in ("migrations", "data", "counts"):
        if key not in manifest:
            raise BackupError("Le manifeste de l'archive est incomplet.")
    for entry in manifest["data"]:
        if entry.get("file") not in hashes or entry.get("model") not in manifest["counts"]:
            raise BackupError("Le manifeste de l'archive est incomplet.")
    return manifest, hashes


def _archive_state(manifest: dict[str, Any], loader: MigrationLoader) -> dict[str, set[str]]:
    """The archive's migrations per app, refusing what this code does not know."""
    installed = _installed_labels()
    data_apps = {entry["model"].split(".")[0] for entry in manifest["data"]}
    state: dict[str, set[str]] = {}
    unknown = []
    for app_label, names in manifest["migrations"].items():
        if app_label not in installed:
            if app_label in data_apps:
                raise BackupError(
                    f"L'archive contient des données de l'application « {app_label} », "
                    "absente de cette version de Conciergerie."
                )
            continue  # an app since removed, with nothing to restore
        unknown += [
            f"{app_label}.{n}" for n in names if (app_label, n) not in loader.disk_migrations
        ]
        state[app_label] = set(names)
    if unknown:
        raise BackupError(
            "Cette archive vient d'une version plus récente de Conciergerie (migrations "
            f"inconnues : {', '.join(sorted(unknown))}). Mettez Conciergerie à jour, puis "
            "restaurez."
        )
    return state


def _targets(state: dict[str, set[str]], loader: MigrationLoader) -> list[tuple[str, str]]:
    """One migration per app whose state, with its dependencies, is the archive's state."""
    graph = loader.graph
    targets = []
    for app_label, original in sorted(state.items()):
        names = set(original)
        # Squashed migrations: speak of them the way this database's graph does.
        for key, migration in loader.replacements.items():
            if key[0] != app_label:
                continue
            replaced = {n for a, n in migration.replaces if a == app_label}
            if key in graph.nodes and replaced and replaced <= names:
                names = (names - replaced) | {key[1]}
            elif key not in graph.nodes and key[1] in names:
                names = (names - {key[1]}) | replaced
        nodes = {(app_label, n) for n in names}
        if not nodes:
            continue
        leaves = [n for n in nodes if not (set(graph.node_map[n].children) & nodes)]
        if not nodes <= set(graph.nodes) or len(leaves) != 1:
            raise BackupError(
                f"L'état des migrations de l'archive pour « {app_label} » ne peut pas être "
                "reproduit par cette version de Conciergerie."
            )
        targets.append(leaves[0])
    return targets


def _occupied_tables() -> list[str]:
    existing = set(connection.introspection.table_names())
    return [
        m._meta.label
        for m in backed_up_models()
        if m._meta.db_table in existing and m._base_manager.exists()
    ]


def _media_target(root: Path, name: str) -> Path:
    relative = PurePosixPath(name).relative_to("media")
    target = root.joinpath(*relative.parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise BackupError(f"Chemin de média refusé : {name}.")
    return target


def _file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return _HashingReader(fh).drain()


def _check_media_free(root: Path, hashes: dict[str, str]) -> None:
    for name, sha in hashes.items():
        if not name.startswith("media/"):
            continue
        target = _media_target(root, name)
        if target.exists() and (not target.is_file() or _file_sha256(target) != sha):
            raise BackupError(
                f"Le dossier des médias contient déjà un autre fichier {target} : "
                "la restauration se fait dans une instance neuve."
            )


def _insert(model: Any, batch: list[Any], m2m: dict[Any, list[Any]]) -> None:
    if batch:
        if model._meta.parents:  # bulk_create refuses multi-table inheritance
            for obj in batch:
                obj.save_base(raw=True, force_insert=True)
        else:
            model._base_manager.bulk_create(batch, batch_size=BATCH_SIZE)
    for through, rows in m2m.items():
        through._base_manager.bulk_create(rows, batch_size=BATCH_SIZE)
    batch.clear()
    m2m.clear()


def _load(stream: Iterable[str], registry: Any, tick: Callable[[], None]) -> tuple[Any, int]:
    """Insert one data member's rows in batches; return its model and the row count."""
    model: Any = None
    batch: list[Any] = []
    m2m: dict[Any, list[Any]] = defaultdict(list)
    rows = 0
    for item in _Deserializer(stream, registry=registry, using=connection.alias):
        obj = item.object
        if model is None:
            model = type(obj)
        elif type(obj) is not model:
            raise BackupError("Un fichier de données de l'archive mélange plusieurs modèles.")
        batch.append(obj)
        for name, pks in item.m2m_data.items():
            relation = model._meta.get_field(name)
            through = relation.remote_field.through
            source = through._meta.get_field(relation.m2m_field_name()).attname
            target = through._meta.get_field(relation.m2m_reverse_field_name()).attname
            m2m[through] += [through(**{source: obj.pk, target: pk}) for pk in pks]
        rows += 1
        tick()
        if len(batch) >= BATCH_SIZE:
            _insert(model, batch, m2m)
    if model is not None:
        _insert(model, batch, m2m)
    return model, rows


def backup_restore(*, archive: Path, progress: bool = False) -> RestoreResult:
    """Restore an archive into an empty instance: everything, or nothing."""
    if not archive.is_file():
        raise BackupError(f"Archive introuvable : {archive}")
    if connection.in_atomic_block:
        raise BackupError("La restauration doit s'exécuter hors de toute transaction.")
    manifest, hashes = _scan(archive, progress)
    state = _archive_state(manifest, MigrationLoader(connection, ignore_no_migrations=True))
    occupied = _occupied_tables()
    if occupied:
        raise BackupError(
            "La base de données n'est pas vide (" + ", ".join(occupied[:5]) + ") : la "
            "restauration ne se fait que dans une instance neuve, sans lieu ni compte. "
            "Utilisez un nouveau CONCIERGERIE_DATA_DIR ou une base PostgreSQL vide."
        )
    media_root = Path(settings.MEDIA_ROOT)
    _check_media_free(media_root, hashes)

    # The schema the rows were saved with; the remaining migrations run after the load.
    for app_label, name in _targets(state, MigrationLoader(connection)):
        call_command("migrate", app_label, name, interactive=False, verbosity=0)
    loader = MigrationLoader(connection)
    registry = loader.project_state(_targets(state, loader), at_end=True).apps
    data_files = {entry["file"]: entry["model"] for entry in manifest["data"]}
    counts: dict[str, int] = manifest["counts"]
    written: list[Path] = []  # media files, temporary then final, to remove on failure
    renames: list[tuple[Path, Path]] = []
    loaded: dict[str, int] = {}
    try:
        with transaction.atomic():
            if _occupied_tables():
                raise BackupError("La base de données a reçu des données pendant la restauration.")
            with (
                _open_archive(archive) as tar,
                tqdm(
                    total=sum(counts.get(m, 0) for m in data_files.values()),
                    desc="Restauration",
                    unit=" lignes",
                    disable=not progress,
                    leave=False,
                ) as bar,
            ):
                for member in tar:
                    name = _member_name(member)
                    if name == MANIFEST:
                        continue
                    fh = tar.extractfile(member)
                    assert fh is not None
                    reader = _HashingReader(fh)
                    if name in data_files:
                        text = io.TextIOWrapper(
                            io.BufferedReader(reader), encoding="utf-8", newline="\n"
                        )
                        model, rows = _load(text, registry, lambda: bar.update(1))
                        label = data_files[name]
                        if model is not None and _label(model) != label:
                            raise BackupError(f"{name} ne contient pas des {label}.")
                        loaded[label] = rows
                    elif (
                        name.startswith("media/")
                        and not (final := _media_target(media_root, name)).exists()
                    ):  # an existing one is identical, checked above
                        final.parent.mkdir(parents=True, exist_ok=True)
                        temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
                        written.append(temporary)
                        with temporary.open("wb") as out:
                            while chunk := reader.read(CHUNK):
                                out.write(chunk)
                        renames.append((temporary, final))
                    # Read a second time: check again, the file may have changed since.
                    if reader.drain() != hashes.get(name):
                        raise BackupError(
                            f"Somme de contrôle incorrecte pour {name} : l'archive a changé "
                            "pendant la restauration. Rien n'a été restauré."
                        )
            _check_counts(registry, data_files, counts, loaded)
            models_and_tables = []
            for label in data_files.values():
                model = registry.get_model(label)
                models_and_tables += [model] + [f.remote_field.through for f in _auto_m2m(model)]
            with connection.cursor() as cursor:
                # Rows came with their ids: move the sequences past them (no-op on SQLite).
                for sql in connection.ops.sequence_reset_sql(no_style(), models_and_tables):
                    cursor.execute(sql)
            for temporary, final in renames:
                os.replace(temporary, final)
                written.append(final)
    except BaseException as exc:
        for path in written:
            path.unlink(missing_ok=True)
        if isinstance(exc, DeserializationError):
            raise BackupError(f"Données illisibles dans l'archive : {exc}")
        raise
    call_command("migrate", interactive=False, verbosity=0)
    return RestoreResult(
        rows=sum(loaded.values()),
        media_files=len(renames),
        app_version=str(manifest.get("app_version", "?")),
        created_at=str(manifest.get("created_at", "?")),
        source_database=str(manifest.get("database", "?")),
    )


def _check_counts(
    registry: Any, data_files: dict[str, str], counts: dict[str, int], loaded: dict[str, int]
) -> None:
    """Rows read from each file, and rows in each table, must be the manifest's counts."""
    for label in data_files.values():
        model = registry.get_model(label)
        tables = [(label, model)] + [
            (_label(f.remote_field.through), f.remote_field.through) for f in _auto_m2m(model)
        ]
        for table_label, table in tables:
            expected = counts.get(table_label, 0)
            found = table._base_manager.count()
            if table is model and loaded.get(label, 0) != expected:
                found = loaded.get(label, 0)
            if found != expected:
                raise BackupError(
                    f"{table_label} : {found} lignes restaurées au lieu de {expected}. "
                    "Rien n'a été restauré."
                )
