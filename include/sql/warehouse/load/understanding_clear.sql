DELETE FROM staging.interaction_understanding;
DELETE FROM staging.interaction_filter_counts;
DELETE FROM staging.routing_queue;
