-- The weekly job as one PostgreSQL batch (bench/baselines/pg-batch runs it
-- with psql): what a data team would write instead of the pipeline, on
-- PostgreSQL 15. Same rules as the product (SPEC §2-§7), same outputs byte
-- for byte as deploy/aij-local.
--
-- Runs in the staging folder, where the driver linked week.csv,
-- dossiers.csv, communes.csv, motifs.csv, coverage.csv and fold.sql; psql
-- variable run_id. Writes reports/<ml>.csv, reports/_national.csv,
-- integrated.csv, summary.json (psql writes them: \o).
--
-- The week's lines are UTF-8 or Windows-1252, each on its own, as in the
-- product (the SQLite batch takes them all as UTF-8); the other inputs are
-- UTF-8. What PostgreSQL cannot store or decode (a NUL byte; one of the
-- five bytes Windows-1252 leaves undefined, which the product turns into
-- U+FFFD) makes COPY fail with its message: the batch stops, it never
-- writes outputs that differ.
--
-- Written as a data team would, for PostgreSQL: COPY into unlogged tables;
-- each stage a CREATE TABLE AS (the planner may run its query in parallel,
-- never an INSERT ... SELECT's), ANALYZEd when a later plan depends on it
-- (autovacuum is off); every value computed once, N() once per distinct
-- name; the cascade one join per step on the lines still open; hash joins
-- and aggregates in memory (the cluster's settings: pg-batch).

\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset footer off
\pset null ''
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS aij CASCADE;
CREATE SCHEMA aij;
SET search_path = aij;

-- 1. Import --------------------------------------------------------------------------------
-- COPY splits the fields itself only when every line has the same number,
-- and the week's lines with a wrong count are data to report (code 01). So
-- awk, on the way in (as .import does for the SQLite batch), splits each
-- line at `;` and hands COPY its physical line number (blank lines
-- included; for the week, the number grep -n gave it), its field count (and
-- for the week its length in bytes), then a
-- fixed number of fields: those it lacks empty, those past it dropped. On
-- the way it takes the line end off (COPY wants one line end for the whole
-- file, the SPEC allows LF or CRLF on each line) and escapes what COPY's
-- text format reads specially: backslashes, CRs, the delimiter (0x1F). The
-- rules are all in SQL.
CREATE UNLOGGED TABLE raw_week (n bigint, nf int, len int, f1 text, f2 text, f3 text,
  f4 text, f5 text, f6 text, f7 text, f8 text, f9 text, f10 text, f11 text, f12 text);
CREATE UNLOGGED TABLE raw_dossiers (n bigint, nf int, f1 text, f2 text, f3 text, f4 text,
  f5 text, f6 text, f7 text);
-- The week, UTF-8 or, line by line, Windows-1252 (SPEC §2.1, lib/reader.c):
-- grep (in a UTF-8 locale) numbers the lines and sorts them, those that
-- are valid UTF-8 into one COPY, the others into a second COPY that
-- decodes them from WIN1252. One CR before the LF ends a line.
\copy raw_week FROM PROGRAM 'LC_ALL=C.UTF-8 grep -nax ''.*'' week.csv | LC_ALL=C awk -F\; -v OFS=\\037 ''{ i = index($0, ":"); n = substr($0, 1, i - 1); $0 = substr($0, i + 1); sub(/\r$/, ""); len = length($0); gsub(/\\/, "&&"); gsub(/\r/, "\\r"); gsub(/\037/, "\\\037"); print n, NF, len, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }''' WITH (FORMAT text, DELIMITER E'\x1f')
\copy raw_week FROM PROGRAM 'LC_ALL=C.UTF-8 grep -naxv ''.*'' week.csv | LC_ALL=C awk -F\; -v OFS=\\037 ''{ i = index($0, ":"); n = substr($0, 1, i - 1); $0 = substr($0, i + 1); sub(/\r$/, ""); len = length($0); gsub(/\\/, "&&"); gsub(/\r/, "\\r"); gsub(/\037/, "\\\037"); print n, NF, len, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }''' WITH (FORMAT text, DELIMITER E'\x1f', ENCODING 'WIN1252')
-- The export (UTF-8): awk numbers the lines; every trailing CR goes
-- (lib/index_load.c).
\copy raw_dossiers FROM PROGRAM 'LC_ALL=C awk -F\; -v OFS=\\037 ''{ sub(/\r+$/, ""); gsub(/\\/, "&&"); gsub(/\r/, "\\r"); gsub(/\037/, "\\\037"); print NR, NF, $1, $2, $3, $4, $5, $6, $7 }'' dossiers.csv' WITH (FORMAT text, DELIMITER E'\x1f')
ANALYZE raw_dossiers (n, nf);
-- The reference files (small): each line whole (CSV format with neither
-- delimiter nor quote in the files), split below: `;`-separated, fields
-- trimmed, blank lines skipped; the last field of motifs.csv (free text)
-- may hold `;`.
CREATE UNLOGGED TABLE raw_communes (line text);
CREATE UNLOGGED TABLE raw_motifs (line text);
CREATE UNLOGGED TABLE raw_coverage (line text);
\copy raw_communes FROM 'communes.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01', HEADER)
\copy raw_motifs FROM 'motifs.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01', HEADER)
\copy raw_coverage FROM 'coverage.csv' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x01', HEADER)
CREATE UNLOGGED TABLE communes AS
SELECT btrim(split_part(line, ';', 1), E' \t') AS code_insee,
       btrim(split_part(line, ';', 2), E' \t') AS code_postal
FROM raw_communes WHERE btrim(line, E' \t\r') <> '';
CREATE UNLOGGED TABLE motifs AS
SELECT DISTINCT btrim(split_part(line, ';', 1), E' \t') AS code
FROM raw_motifs WHERE btrim(line, E' \t\r') <> '';
CREATE UNLOGGED TABLE coverage AS
SELECT btrim(split_part(line, ';', 1), E' \t') AS ml_code,
       btrim(split_part(line, ';', 3), E' \t\r') AS code_postal
FROM raw_coverage WHERE btrim(line, E' \t\r') <> '';
-- the keys a DBA declares on reference tables
CREATE INDEX ON communes (code_insee, code_postal);
CREATE UNIQUE INDEX ON motifs (code);
CREATE INDEX ON coverage (code_postal, ml_code);
ANALYZE communes;
ANALYZE motifs;
ANALYZE coverage;

-- 2. The rules as SQL functions (each one SQL expression: the planner
-- inlines them) ------------------------------------------------------------------------------
-- N() of SPEC §4: the product's table of the non-ASCII characters that keep
-- something (fold.sql, generated from lib/normalize.c), made into one
-- function: the multi-letter ones (Æ -> AE...) by replace(), the others by
-- one translate(), then upper-case (ASCII: the database's locale is C),
-- then everything but A-Z and 0-9 dropped. Built from the table, so the
-- rules stay written once.
CREATE TABLE fold (ch text PRIMARY KEY, rep text);
\i fold.sql
SELECT format($f$CREATE FUNCTION aij_n(s text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN regexp_replace(upper(translate(%s, %L, %L)), '[^A-Z0-9]+', '', 'g')$f$,
  repeat('replace(', (SELECT count(*)::int FROM fold WHERE length(rep) > 1)) || 's' ||
    (SELECT string_agg(format(', %L, %L)', ch, rep), '' ORDER BY ch) FROM fold WHERE length(rep) > 1),
  (SELECT string_agg(ch, '' ORDER BY ch) FROM fold WHERE length(rep) = 1),
  (SELECT string_agg(rep, '' ORDER BY ch) FROM fold WHERE length(rep) = 1))
\gexec

-- A date of the files (lib/date.c): exactly DD/MM/YYYY, a real day of the
-- proleptic Gregorian calendar, year 0001 or later. Looked up rather than
-- parsed (to_date() raises an error on a bad date; a regular expression
-- costs 3 times as much here): its DD/MM/ among the 366 of a leap year,
-- its year's two halves among 00-99, and 29/02 only in a leap year
-- (divisible by 4 and not by 100, or by 400). The lists are constants that
-- PostgreSQL hashes; the function is generated with them.
SELECT format($f$CREATE FUNCTION aij_date_ok(d text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN d LIKE '__/__/____' AND substr(d, 1, 6) = ANY (%1$L::text[])
    AND substr(d, 7, 2) = ANY (%2$L::text[]) AND substr(d, 9, 2) = ANY (%2$L::text[])
    AND substr(d, 7) <> '0000'
    AND (substr(d, 1, 6) <> '29/02/'
         OR substr(d, 9, 2) <> '00' AND substr(d, 9, 2) = ANY (%3$L::text[])
         OR substr(d, 9, 2) = '00' AND substr(d, 7, 2) = ANY (%3$L::text[]))$f$,
  (SELECT array_agg(to_char(date '2004-01-01' + i, 'DD/MM/') ORDER BY i) FROM generate_series(0, 365) i),
  (SELECT array_agg(to_char(i, 'FM00') ORDER BY i) FROM generate_series(0, 99) i),
  (SELECT array_agg(to_char(i, 'FM00') ORDER BY i) FROM generate_series(0, 96, 4) i))
\gexec
-- DD/MM/YYYY -> YYYYMMDD, which sorts as the dates do
CREATE FUNCTION aij_ymd(d text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN substr(d, 7) || substr(d, 4, 2) || substr(d, 1, 2);

-- 3. The week's records (SPEC §2.1) and their validation (SPEC §3) -------------------------
-- Blank lines skipped, the BOM off line 1, each field trimmed of spaces and
-- tabs. Stored trimmed, then validated: each field is tested several times.
CREATE UNLOGGED TABLE rec AS
SELECT n, nf = 12 AND len - octet_length(f1) + octet_length(g1) <= 65536 AS ok01,
  btrim(g1, E' \t') AS sigma, btrim(f2, E' \t') AS code_regional, btrim(f3, E' \t') AS pe,
  btrim(f4, E' \t') AS nom, btrim(f5, E' \t') AS prenom, btrim(f6, E' \t') AS dob,
  btrim(f7, E' \t') AS insee, btrim(f9, E' \t') AS debut, btrim(f10, E' \t') AS fin_prevue,
  btrim(f11, E' \t') AS fin_reelle, btrim(f12, E' \t') AS motif
FROM (SELECT *, CASE WHEN n = 1 AND starts_with(f1, U&'\FEFF') THEN substr(f1, 2) ELSE f1 END AS g1
      FROM raw_week) w
WHERE nf > 1 OR btrim(g1, E' \t') <> '';
DROP TABLE raw_week;
-- The first rule that fails gives the code (01 the field count or a line
-- over 64 KiB, 07, 06, 08, 09); the header (the first non-blank line, when
-- its first field is identifiant_sigma) is not a record.
CREATE UNLOGGED TABLE val AS
SELECT n, sigma, pe, nom, prenom, dob, insee,
  CASE
    WHEN NOT ok01 THEN '01'
    WHEN sigma = '' OR code_regional = '' OR nom = '' OR prenom = ''
      OR NOT aij_date_ok(dob) THEN '07'
    WHEN NOT aij_date_ok(debut)
      OR fin_prevue <> '' AND (NOT aij_date_ok(fin_prevue) OR aij_ymd(fin_prevue) < aij_ymd(debut))
      OR fin_reelle <> '' AND (NOT aij_date_ok(fin_reelle) OR aij_ymd(fin_reelle) < aij_ymd(debut))
      THEN '06'
    WHEN insee = '' OR insee NOT IN (SELECT code_insee FROM communes) THEN '08'
    WHEN fin_reelle <> '' AND (motif = '' OR motif NOT IN (SELECT code FROM motifs)) THEN '09'
  END AS vcode
FROM rec
WHERE NOT (n = (SELECT min(n) FROM rec) AND lower(sigma) = 'identifiant_sigma');
DROP TABLE rec;
ANALYZE val (vcode);

-- 4. The dossier export (SPEC §2.3) and N() -----------------------------------------------------
-- Its first line is the header (lib/index_load.c: fields trimmed, any case).
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT FROM raw_dossiers
    WHERE n = 1 AND nf = 7
      AND ARRAY[lower(btrim(ltrim(f1, U&'\FEFF'), E' \t')), lower(btrim(f2, E' \t')),
                lower(btrim(f3, E' \t')), lower(btrim(f4, E' \t')), lower(btrim(f5, E' \t')),
                lower(btrim(f6, E' \t')), lower(btrim(f7, E' \t'))]
          = ARRAY['dossier_id', 'ml_code', 'nom_naissance', 'prenom', 'date_naissance',
                  'pe_cotraitance', 'pe_complement']) THEN
    RAISE EXCEPTION 'dossiers.csv: line 1 is not the header dossier_id;ml_code;nom_naissance;prenom;date_naissance;pe_cotraitance;pe_complement';
  END IF;
END $$;
-- N() once per distinct name, of both sides. The dossiers' names as they
-- came: N() drops the spaces and tabs that trimming would.
CREATE UNLOGGED TABLE names AS
SELECT s, aij_n(s) AS n
FROM (SELECT DISTINCT s
      FROM (SELECT f3 FROM raw_dossiers WHERE n > 1 AND nf = 7
            UNION ALL SELECT f4 FROM raw_dossiers WHERE n > 1 AND nf = 7
            UNION ALL SELECT nom FROM val WHERE vcode IS NULL
            UNION ALL SELECT prenom FROM val WHERE vcode IS NULL) a(s)) u;
ANALYZE names;
-- The dossiers' keys: the rows of seven fields, trimmed. The numéros PE
-- compared upper-cased; an empty one is NULL (no number), which also gives
-- the planner the right number of distinct values (with '' counted as a
-- value, ANALYZE's estimate is 20 times too low, and the cascade's plans go
-- wrong).
CREATE UNLOGGED TABLE dk AS
SELECT d.id, d.p1, d.p2, a.n AS nn, b.n AS np, d.dob
FROM (SELECT btrim(f1, E' \t') AS id, f3, f4, btrim(f5, E' \t') AS dob,
             nullif(upper(btrim(f6, E' \t')), '') AS p1, nullif(upper(btrim(f7, E' \t')), '') AS p2
      FROM raw_dossiers WHERE n > 1 AND nf = 7) d
     JOIN names a ON a.s = d.f3 JOIN names b ON b.s = d.f4;
DROP TABLE raw_dossiers;
-- A row without a dossier_id (or one of 128 bytes or more, or with a tab),
-- or without a valid date_naissance, is malformed: deleted, tested on the
-- stored values. (Tested in the query above, the checks' guessed
-- selectivity, a few rows out of 2 million, made the planner join the
-- names by nested loops: 2 minutes instead of 3 seconds.)
DELETE FROM dk
WHERE NOT (id <> '' AND octet_length(id) < 128 AND strpos(id, E'\t') = 0 AND aij_date_ok(dob));
ANALYZE dk (p1, p2, nn, np, dob);
-- The valid lines' keys: P (upper-cased identifiant_pe, NULL when empty),
-- N(nom), N(prenom), date_naissance.
CREATE UNLOGGED TABLE q AS
SELECT v.n, nullif(upper(v.pe), '') AS p, a.n AS nn, b.n AS np, v.dob
FROM val v JOIN names a ON a.s = v.nom JOIN names b ON b.s = v.prenom
WHERE v.vcode IS NULL;
ANALYZE q;

-- 5. The cascade (SPEC §4): one join per step, on the lines the steps
-- before left open; per line, how many dossiers have its key, and the only
-- one's id and N(nom). Hash joins, no index on the dossiers: each step
-- reads them once (measured for step 1: a covering index on pe_cotraitance
-- took 0.7 s to build and the join through it 3.9 s, the hash join 1.8 s) --
-- Step 1, every line with a numéro PE: its matches among the dossiers by
-- pe_cotraitance, counted by a join grouped by line.
CREATE UNLOGGED TABLE c1 AS
SELECT n, CASE WHEN c = 0 THEN '05' WHEN c > 1 THEN '02' WHEN dnn <> nn THEN '03' ELSE 'ok' END AS s1, id
FROM (SELECT q.n, q.nn, count(d.id) AS c, min(d.id) AS id, min(d.nn) AS dnn
      FROM q LEFT JOIN dk d ON d.p1 = q.p
      WHERE q.p IS NOT NULL
      GROUP BY q.n, q.nn) m;
ANALYZE c1;
-- Step 2, the lines step 1 left open: the dossiers by pe_complement, for
-- the numbers these lines ask.
CREATE UNLOGGED TABLE open2 AS
SELECT q.*, c1.s1 FROM c1 JOIN q ON q.n = c1.n WHERE c1.s1 <> 'ok';
ANALYZE open2;
CREATE UNLOGGED TABLE c2 AS
SELECT o.n, o.s1, CASE WHEN k.c IS NULL THEN '05' WHEN k.c > 1 THEN '02'
                 WHEN k.nn <> o.nn THEN '03' ELSE 'ok' END AS s2, k.id
FROM open2 o
     LEFT JOIN (SELECT p2 AS p, count(*) AS c, min(id) AS id, min(nn) AS nn
                FROM dk WHERE p2 IN (SELECT p FROM open2)
                GROUP BY p2) k ON k.p = o.p;
-- Step 3, the lines without a numéro PE and those step 2 left open: the
-- dossiers by N(nom), N(prenom) and date_naissance, for the keys these
-- lines ask. (tried: the codes of the steps before, "s1/s2/")
CREATE UNLOGGED TABLE open3 AS
SELECT n, nn, np, dob, '' AS tried FROM q WHERE p IS NULL
UNION ALL
SELECT o.n, o.nn, o.np, o.dob, c2.s1 || '/' || c2.s2 || '/'
FROM c2 JOIN open2 o ON o.n = c2.n WHERE c2.s2 <> 'ok';
ANALYZE open3;
CREATE UNLOGGED TABLE c3 AS
SELECT o.n, o.tried, CASE WHEN k.c IS NULL THEN '05' WHEN k.c > 1 THEN '04' ELSE 'ok' END AS s3, k.id
FROM open3 o
     LEFT JOIN (SELECT nn, np, dob, count(*) AS c, min(id) AS id
                FROM dk
                WHERE (nn, np, dob) IN (SELECT nn, np, dob FROM open3)
                GROUP BY nn, np, dob) k
       ON k.nn = o.nn AND k.np = o.np AND k.dob = o.dob;

-- Every line's outcome: integrated at a step, or failed with its codes.
CREATE UNLOGGED TABLE integ AS
SELECT n, id AS dossier_id, 1 AS step FROM c1 WHERE s1 = 'ok'
UNION ALL SELECT n, id, 2 FROM c2 WHERE s2 = 'ok'
UNION ALL SELECT n, id, 3 FROM c3 WHERE s3 = 'ok';
-- (with what its report row shows: fields 1, 3-7 of the line as received,
-- trimmed, then the codes; and its commune, for the routing)
CREATE UNLOGGED TABLE failed AS
SELECT n, vcode AS codes, insee,
       concat_ws(';', sigma, pe, nom, prenom, dob, insee, vcode) AS row
FROM val WHERE vcode IS NOT NULL
UNION ALL
SELECT c3.n, c3.tried || c3.s3, l.insee,
       concat_ws(';', l.sigma, l.pe, l.nom, l.prenom, l.dob, l.insee, c3.tried || c3.s3)
FROM c3 JOIN val l ON l.n = c3.n
WHERE c3.s3 <> 'ok';
ANALYZE failed;

-- 6. Routing (SPEC §5): the MLs whose zone holds a postal code of the
-- line's commune; no usable commune (01, 08) or no zone: national. -------------------------
CREATE UNLOGGED TABLE rep AS
SELECT f.n, coalesce(r.ml, '_national') AS ml, f.row
FROM failed f
     LEFT JOIN (SELECT DISTINCT f.n, v.ml_code AS ml
                FROM failed f JOIN communes c ON c.code_insee = f.insee
                     JOIN coverage v ON v.code_postal = c.code_postal
                WHERE f.codes NOT IN ('01', '08')) r ON r.n = f.n;
CREATE INDEX ON rep (ml, n);
ANALYZE rep;

-- 7. Outputs (psql writes them: unaligned rows, one a line) -------------------------------------
\o integrated.csv
SELECT 'line;dossier_id;step';
SELECT n || ';' || dossier_id || ';' || step FROM integ ORDER BY n;
-- the reports: UTF-8 with BOM, CRLF (each row ends with its CR, psql adds
-- the LF); one file a ML, by a psql script this query writes
\o reports.psql
SELECT format(E'\\o reports/%s.csv\n'
              'SELECT %L || E''\\r'';\n'
              'SELECT row || E''\\r'' FROM rep WHERE ml = %L ORDER BY n;',
              ml, U&'\FEFF' || 'Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;Date de naissance;Commune INSEE de résidence;Codes retour', ml)
FROM (SELECT DISTINCT ml FROM rep) m ORDER BY ml;
\o
\i reports.psql
-- summary.json: keys in order, two-space indent, as the product writes it
\o summary.json
WITH by_code AS (
  SELECT c, count(DISTINCT n) AS k FROM failed, unnest(string_to_array(codes, '/')) c GROUP BY c
), by_step AS (
  SELECT s, coalesce(k, 0) AS k
  FROM generate_series(1, 3) s LEFT JOIN (SELECT step, count(*) AS k FROM integ GROUP BY step) i ON i.step = s
), reports AS (
  SELECT ml, count(*) AS k FROM rep GROUP BY ml
), totals AS (
  SELECT (SELECT count(*) FROM failed) AS failed, (SELECT sum(k) FROM by_step) AS integrated
)
SELECT E'{\n'
  || '  "by_code": ' || coalesce(E'{\n' || (SELECT string_agg(format('    "%s": %s', c, k), E',\n' ORDER BY c) FROM by_code) || E'\n  }', '{}') || E',\n'
  || E'  "by_step": {\n' || (SELECT string_agg(format('    "%s": %s', s, k), E',\n' ORDER BY s) FROM by_step) || E'\n  },\n'
  || '  "failed": ' || failed || E',\n'
  || '  "integrated": ' || integrated || E',\n'
  || '  "lines": ' || failed + integrated || E',\n'
  || '  "reports": ' || coalesce(E'{\n' || (SELECT string_agg(format('    "%s": %s', ml, k), E',\n' ORDER BY ml) FROM reports) || E'\n  }', '{}') || E',\n'
  || '  "run_id": "' || :'run_id' || E'"\n}'
FROM totals;
\o
