INSERT INTO ops.suppression (key_hash, key_kind, erasure_id, added_at)
VALUES (:key_hash, :key_kind, :erasure_id, :added_at)
ON CONFLICT (key_hash) DO NOTHING;
