# Databricks notebook source
dbutils.widgets.text("year", "2023")
dbutils.widgets.text("top", "5")
dbutils.widgets.text("Orders_in", "")
dbutils.widgets.text("TopCustomers_out", "")

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT customer_id, country, ROUND(SUM(amount), 2) AS revenue
# MAGIC FROM delta.`${Orders_in}`
# MAGIC WHERE year(order_date) = :year
# MAGIC GROUP BY customer_id, country
# MAGIC ORDER BY revenue DESC, customer_id

# COMMAND ----------

# The last %sql result is available to Python as _sqldf, as on Databricks.
top = _sqldf.limit(int(dbutils.widgets.get("top")))
top.write.format("delta").mode("overwrite").save(dbutils.widgets.get("TopCustomers_out"))
