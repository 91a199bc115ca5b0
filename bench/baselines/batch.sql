-- The weekly job as one SQLite batch (bench/baselines/sqlite-batch runs it):
-- what a data team would write instead of the pipeline. Same rules as the
-- product (SPEC §2-§7), same outputs byte for byte.
--
-- Runs in the staging folder, where the driver put: week.num and
-- dossiers.num (each line prefixed by its physical line number and \037:
-- sqlite3's .import skips empty lines, which would shift the numbering),
-- communes.csv, motifs.csv, coverage.csv, and params(run_id).
-- Writes reports/<ml>.csv, reports/_national.csv, integrated.csv, summary.json.
-- Inputs are taken as UTF-8 (no Windows-1252 fallback, no 64 KiB line cut).
-- (the pragmas print their new value: not into the outputs)
.output /dev/null
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -1000000;
.output stdout

-- 1. Import ----------------------------------------------------------------------
CREATE TABLE raw_week(n INTEGER, l TEXT);
CREATE TABLE raw_dossiers(n INTEGER, l TEXT);
.mode ascii
.separator "\037" "\n"
.import week.num raw_week
.import dossiers.num raw_dossiers
CREATE TABLE communes(code_insee TEXT, code_postal TEXT, nom TEXT);
CREATE TABLE motifs(code TEXT, libelle TEXT);
CREATE TABLE coverage(ml_code TEXT, ml_nom TEXT, code_postal TEXT);
.mode csv
.separator ";"
.import --skip 1 communes.csv communes
.import --skip 1 motifs.csv motifs
.import --skip 1 coverage.csv coverage
CREATE INDEX communes_insee ON communes(code_insee);
CREATE INDEX coverage_cp ON coverage(code_postal);

CREATE TABLE fold(ch TEXT PRIMARY KEY, rep TEXT) WITHOUT ROWID;
.read fold.sql

-- 2. The week's records: split, trimmed (a JSON array per line) ------------------
CREATE TABLE lines AS
SELECT n, l,
       '["' || replace(replace(replace(replace(l, '\', '\\'), '"', '\"'), char(9), '\t'),
                       ';', '","') || '"]' AS j
FROM (SELECT n, rtrim(CASE WHEN n = 1 AND substr(l, 1, 1) = char(65279)
                           THEN substr(l, 2) ELSE l END, char(13)) AS l
      FROM raw_week)
WHERE trim(l, ' ' || char(9)) <> '';
DROP TABLE raw_week;
-- the header: the first non-blank line, when its first field is identifiant_sigma
DELETE FROM lines WHERE n = (SELECT min(n) FROM lines)
  AND lower(trim(json_extract(j, '$[0]'), ' ' || char(9))) = 'identifiant_sigma';

CREATE TABLE rec AS
SELECT n, json_array_length(j) AS cnt, length(CAST(l AS BLOB)) > 65536 AS too_long,
       coalesce(trim(json_extract(j, '$[0]'), ' ' || char(9)), '') AS sigma,
       coalesce(trim(json_extract(j, '$[1]'), ' ' || char(9)), '') AS code_regional,
       coalesce(trim(json_extract(j, '$[2]'), ' ' || char(9)), '') AS pe,
       coalesce(trim(json_extract(j, '$[3]'), ' ' || char(9)), '') AS nom,
       coalesce(trim(json_extract(j, '$[4]'), ' ' || char(9)), '') AS prenom,
       coalesce(trim(json_extract(j, '$[5]'), ' ' || char(9)), '') AS dob,
       coalesce(trim(json_extract(j, '$[6]'), ' ' || char(9)), '') AS insee,
       coalesce(trim(json_extract(j, '$[7]'), ' ' || char(9)), '') AS type,
       coalesce(trim(json_extract(j, '$[8]'), ' ' || char(9)), '') AS debut,
       coalesce(trim(json_extract(j, '$[9]'), ' ' || char(9)), '') AS fin_prevue,
       coalesce(trim(json_extract(j, '$[10]'), ' ' || char(9)), '') AS fin_reelle,
       coalesce(trim(json_extract(j, '$[11]'), ' ' || char(9)), '') AS motif
FROM lines;
DROP TABLE lines;

-- 3. Validation (SPEC §3): a date is DD/MM/YYYY, year >= 1, a real day (date()
-- alone takes 31/11; with a modifier it normalises, so a real day is unchanged) --
CREATE TABLE val AS
WITH iso AS (
  SELECT r.*,
    CASE WHEN dob GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(dob, 7) <> '0000'
         THEN substr(dob, 7) || '-' || substr(dob, 4, 2) || '-' || substr(dob, 1, 2) END AS i_dob,
    CASE WHEN debut GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(debut, 7) <> '0000'
         THEN substr(debut, 7) || '-' || substr(debut, 4, 2) || '-' || substr(debut, 1, 2) END AS i_debut,
    CASE WHEN fin_prevue GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(fin_prevue, 7) <> '0000'
         THEN substr(fin_prevue, 7) || '-' || substr(fin_prevue, 4, 2) || '-' || substr(fin_prevue, 1, 2) END AS i_fp,
    CASE WHEN fin_reelle GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(fin_reelle, 7) <> '0000'
         THEN substr(fin_reelle, 7) || '-' || substr(fin_reelle, 4, 2) || '-' || substr(fin_reelle, 1, 2) END AS i_fr
  FROM rec r
), ok AS (
  SELECT iso.*,
    coalesce(date(i_dob, '+0 days') = i_dob, 0) AS ok_dob,
    coalesce(date(i_debut, '+0 days') = i_debut, 0) AS ok_debut,
    coalesce(date(i_fp, '+0 days') = i_fp, 0) AS ok_fp,
    coalesce(date(i_fr, '+0 days') = i_fr, 0) AS ok_fr
  FROM iso
)
SELECT n, sigma, pe, nom, prenom, dob, insee,
  CASE
    WHEN cnt <> 12 OR too_long THEN '01'
    WHEN sigma = '' OR code_regional = '' OR nom = '' OR prenom = '' OR NOT ok_dob THEN '07'
    WHEN NOT ok_debut OR (fin_prevue <> '' AND NOT ok_fp) OR (fin_reelle <> '' AND NOT ok_fr)
         OR (fin_prevue <> '' AND i_fp < i_debut) OR (fin_reelle <> '' AND i_fr < i_debut) THEN '06'
    WHEN insee = '' OR NOT EXISTS (SELECT 1 FROM communes c WHERE c.code_insee = insee) THEN '08'
    WHEN fin_reelle <> '' AND (motif = '' OR NOT EXISTS (SELECT 1 FROM motifs m WHERE m.code = motif)) THEN '09'
  END AS vcode
FROM ok;
DROP TABLE rec;

-- 4. The dossier export (SPEC §2.3): malformed rows left out --------------------------
CREATE TABLE dos AS
WITH d AS (
  SELECT n, '["' || replace(replace(replace(replace(rtrim(l, char(13)), '\', '\\'), '"', '\"'),
                                    char(9), '\t'), ';', '","') || '"]' AS j
  FROM raw_dossiers WHERE n > 1 AND rtrim(l, char(13)) <> ''
), f AS (
  SELECT n, json_array_length(j) AS cnt,
    coalesce(trim(json_extract(j, '$[0]'), ' ' || char(9)), '') AS id,
    coalesce(trim(json_extract(j, '$[2]'), ' ' || char(9)), '') AS nom,
    coalesce(trim(json_extract(j, '$[3]'), ' ' || char(9)), '') AS prenom,
    coalesce(trim(json_extract(j, '$[4]'), ' ' || char(9)), '') AS dob,
    upper(coalesce(trim(json_extract(j, '$[5]'), ' ' || char(9)), '')) AS p1,
    upper(coalesce(trim(json_extract(j, '$[6]'), ' ' || char(9)), '')) AS p2
  FROM d
)
SELECT id, nom, prenom, dob, p1, p2 FROM f
WHERE cnt = 7 AND id <> '' AND length(CAST(id AS BLOB)) < 128 AND instr(id, char(9)) = 0
  AND dob GLOB '[0-9][0-9]/[0-9][0-9]/[0-9][0-9][0-9][0-9]' AND substr(dob, 7) <> '0000'
  AND date(substr(dob, 7) || '-' || substr(dob, 4, 2) || '-' || substr(dob, 1, 2), '+0 days')
      = substr(dob, 7) || '-' || substr(dob, 4, 2) || '-' || substr(dob, 1, 2);
DROP TABLE raw_dossiers;

-- 5. N() of SPEC §4, once per distinct name ---------------------------------------------
CREATE TABLE names(s TEXT PRIMARY KEY, n TEXT) WITHOUT ROWID;
INSERT INTO names
WITH RECURSIVE src(s) AS (
  SELECT nom FROM dos UNION SELECT prenom FROM dos
  UNION SELECT nom FROM val WHERE vcode IS NULL UNION SELECT prenom FROM val WHERE vcode IS NULL
), it(s, i, acc) AS (
  SELECT s, 1, '' FROM src
  UNION ALL
  SELECT s, i + 1, acc || CASE WHEN substr(s, i, 1) GLOB '[A-Za-z0-9]' THEN upper(substr(s, i, 1))
                          ELSE coalesce((SELECT rep FROM fold WHERE ch = substr(s, i, 1)), '') END
  FROM it WHERE i <= length(s)
)
SELECT s, acc FROM it WHERE i = length(s) + 1;

-- 6. The three look-ups: the only dossier of a key, or how many ------------------------
CREATE TABLE pe1(p TEXT PRIMARY KEY, c INTEGER, id TEXT, nom TEXT) WITHOUT ROWID;
INSERT INTO pe1 SELECT p1, count(*), min(id), min(nn.n) FROM dos JOIN names nn ON nn.s = dos.nom
  WHERE p1 <> '' GROUP BY p1;
CREATE TABLE pe2(p TEXT PRIMARY KEY, c INTEGER, id TEXT, nom TEXT) WITHOUT ROWID;
INSERT INTO pe2 SELECT p2, count(*), min(id), min(nn.n) FROM dos JOIN names nn ON nn.s = dos.nom
  WHERE p2 <> '' GROUP BY p2;
CREATE TABLE ident(k TEXT PRIMARY KEY, c INTEGER, id TEXT) WITHOUT ROWID;
INSERT INTO ident SELECT a.n || '|' || b.n || '|' || dob, count(*), min(id)
  FROM dos JOIN names a ON a.s = dos.nom JOIN names b ON b.s = dos.prenom
  GROUP BY 1;

-- 7. The cascade (SPEC §4) ------------------------------------------------------------------
CREATE TABLE res AS
WITH q AS (
  SELECT v.n, upper(v.pe) AS p, a.n AS nnom, a.n || '|' || b.n || '|' || v.dob AS k
  FROM val v JOIN names a ON a.s = v.nom JOIN names b ON b.s = v.prenom
  WHERE v.vcode IS NULL
), s AS (
  SELECT q.n, q.p,
    CASE WHEN q.p = '' THEN NULL WHEN x.p IS NULL THEN '05' WHEN x.c > 1 THEN '02'
         WHEN x.nom <> q.nnom THEN '03' ELSE 'ok' END AS s1, x.id AS id1,
    CASE WHEN q.p = '' THEN NULL WHEN y.p IS NULL THEN '05' WHEN y.c > 1 THEN '02'
         WHEN y.nom <> q.nnom THEN '03' ELSE 'ok' END AS s2, y.id AS id2,
    CASE WHEN z.k IS NULL THEN '05' WHEN z.c > 1 THEN '04' ELSE 'ok' END AS s3, z.id AS id3
  FROM q LEFT JOIN pe1 x ON x.p = q.p AND q.p <> '' LEFT JOIN pe2 y ON y.p = q.p AND q.p <> ''
         LEFT JOIN ident z ON z.k = q.k
)
SELECT n,
  CASE WHEN s1 = 'ok' THEN 1 WHEN s2 = 'ok' THEN 2 WHEN s3 = 'ok' THEN 3 END AS step,
  CASE WHEN s1 = 'ok' THEN id1 WHEN s2 = 'ok' THEN id2 WHEN s3 = 'ok' THEN id3 END AS dossier_id,
  CASE WHEN p = '' THEN s3 ELSE s1 || '/' || s2 || '/' || s3 END AS codes
FROM s;

-- every line's outcome
CREATE TABLE outcome AS
SELECT v.n, v.sigma, v.pe, v.nom, v.prenom, v.dob, v.insee, r.step, r.dossier_id,
       CASE WHEN v.vcode IS NOT NULL THEN v.vcode WHEN r.step IS NULL THEN r.codes END AS codes
FROM val v LEFT JOIN res r ON r.n = v.n;

-- 8. Routing (SPEC §5) --------------------------------------------------------------------------
CREATE TABLE rep AS
WITH failed AS (SELECT * FROM outcome WHERE step IS NULL),
routed AS (
  SELECT DISTINCT f.n, v.ml_code AS ml
  FROM failed f JOIN communes c ON c.code_insee = f.insee
       JOIN coverage v ON v.code_postal = c.code_postal
  WHERE f.codes <> '01' AND f.codes <> '08'
)
SELECT f.n, coalesce(r.ml, '_national') AS ml,
       f.sigma || ';' || f.pe || ';' || f.nom || ';' || f.prenom || ';' || f.dob || ';' ||
       f.insee || ';' || f.codes AS row
FROM failed f LEFT JOIN routed r ON r.n = f.n;
CREATE INDEX rep_ml ON rep(ml, n);

-- 9. Outputs -------------------------------------------------------------------------------------
.mode list
.headers off
.separator "" "\n"
.output integrated.csv
SELECT 'line;dossier_id;step';
SELECT n || ';' || dossier_id || ';' || step FROM outcome WHERE step IS NOT NULL ORDER BY n;
.output reports.sql
SELECT '.output reports/' || ml || '.csv' || char(10) ||
       'SELECT char(65279) || ''Identifiant SIGMA;Code Pôle Emploi;Nom de naissance;Prénom;Date de naissance;Commune INSEE de résidence;Codes retour'';' ||
       char(10) || 'SELECT row FROM rep WHERE ml = ''' || ml || ''' ORDER BY n;'
FROM (SELECT DISTINCT ml FROM rep ORDER BY ml);
.output stdout
.separator "" "\r\n"
.read reports.sql
.separator "" "\n"
.output summary.json
WITH codes(c) AS (VALUES ('01'), ('02'), ('03'), ('04'), ('05'), ('06'), ('07'), ('08'), ('09'), ('10')),
by_code AS (
  SELECT c, (SELECT count(*) FROM outcome WHERE step IS NULL AND instr('/' || codes || '/', '/' || c || '/') > 0) AS k
  FROM codes
), bc AS (SELECT group_concat('    "' || c || '": ' || k, ',' || char(10)) AS t FROM (SELECT * FROM by_code WHERE k > 0 ORDER BY c)),
bs AS (SELECT group_concat('    "' || s || '": ' || (SELECT count(*) FROM outcome WHERE step = s), ',' || char(10)) AS t
       FROM (SELECT 1 AS s UNION ALL SELECT 2 UNION ALL SELECT 3)),
rp AS (SELECT group_concat('    "' || ml || '": ' || k, ',' || char(10)) AS t
       FROM (SELECT ml, count(*) AS k FROM rep GROUP BY ml ORDER BY ml))
SELECT '{' || char(10) ||
  '  "by_code": ' || CASE WHEN bc.t IS NULL THEN '{}' ELSE '{' || char(10) || bc.t || char(10) || '  }' END || ',' || char(10) ||
  '  "by_step": {' || char(10) || bs.t || char(10) || '  },' || char(10) ||
  '  "failed": ' || (SELECT count(*) FROM outcome WHERE step IS NULL) || ',' || char(10) ||
  '  "integrated": ' || (SELECT count(*) FROM outcome WHERE step IS NOT NULL) || ',' || char(10) ||
  '  "lines": ' || (SELECT count(*) FROM outcome) || ',' || char(10) ||
  '  "reports": ' || CASE WHEN rp.t IS NULL THEN '{}' ELSE '{' || char(10) || rp.t || char(10) || '  }' END || ',' || char(10) ||
  '  "run_id": "' || (SELECT run_id FROM params) || '"' || char(10) || '}'
FROM bc, bs, rp;
.output stdout
