"""Registry bulk exchange: the generic tabular import/export of ``safecity.core.tabular``.

Kept so ``from safecity.registry import io`` still works; new code imports core.tabular.
"""

from __future__ import annotations

from safecity.core.tabular import (  # noqa: F401  re-exported for existing callers
    CSV_MEDIA,
    GEOJSON_MEDIA,
    MAX_REPORTED_ERRORS,
    MAX_ROWS,
    XLSX_MEDIA,
    ImportReport,
    Row,
    convert,
    export,
    field_types,
    file_error,
    import_file,
    is_blank,
    number_text,
    read_table,
    row_errors,
    template,
    xlsx,
)
